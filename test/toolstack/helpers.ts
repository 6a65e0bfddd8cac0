/** What the suspend, resume and checkpoint tests share: guests with a disk image, and where their interrupts are bound. */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kernel } from '../../src/kernel/kernel.js';
import { until, yamlConfig, type TestMachine } from '../helpers/machine.js';

const dir = mkdtempSync(join(tmpdir(), 'xe-ts-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** A zeroed disk image of `bytes`, removed after the test file. */
export function image(name: string, bytes = 4 << 20): string {
  const p = join(dir, name);
  writeFileSync(p, Buffer.alloc(bytes));
  return p;
}

/** A guest with `img` as its xvda, once the guest has the disk. */
export async function guestWithDisk(tm: TestMachine, name: string, img: string): Promise<{ domid: number; kernel: Kernel }> {
  const r = await tm.m.toolstack.create(yamlConfig(`name: ${name}\nmemory: 64\nvcpus: 2\ndisk:\n  - "vdev=xvda, access=rw, target=${img}"\n`));
  const kernel = tm.m.kernel(r.domid)!;
  await until(() => kernel.blocks?.find('xvda') !== undefined, 'xvda in the guest');
  return { domid: r.domid, kernel };
}

/** Every bound source: name, vCPU and port. */
export function bindings(k: Kernel): Array<[string, number, number]> {
  return k.intr.sources().map((src) => [src.name, src.cpu, src.port]);
}
