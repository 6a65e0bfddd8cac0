import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XenbusState } from '../../../src/abi/index.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import type { BlockDevice } from '../../../src/kernel/blk/block-layer.js';
import type { XsClient } from '../../../src/protocol/xs-client.js';
import { bootMachine, until, yamlConfig, type TestMachine } from '../../helpers/machine.js';
import { scratchDir } from '../../helpers/scratch.js';

/** A disk as a test attaches it: what libxl would write for `target=..., vdev=..., access=...`. */
export interface VbdSpec {
  frontDomid: number;
  backDomid: number;
  /** virtual-device number (51712 = xvda). */
  vdev: number;
  target: string;
  mode?: 'r' | 'w';
  deviceType?: 'disk' | 'cdrom';
  /** A sector size the user asked for (the backend's `sector-size` before it connects). */
  sectorSize?: number;
}

export function frontPath(s: VbdSpec): string {
  return `/local/domain/${s.frontDomid}/device/vbd/${s.vdev}`;
}

export function backPath(s: VbdSpec): string {
  return `/local/domain/${s.backDomid}/backend/vbd/${s.frontDomid}/${s.vdev}`;
}

/**
 * Write a disk's frontend and backend directories in one transaction, with their
 * permissions, as libxl__device_generic_add does (xenstore-layout.md): the frontend
 * owned by the guest and readable by the backend domain, the backend owned by the
 * backend domain and readable by the guest.
 */
export async function addVbd(xs: XsClient, s: VbdSpec): Promise<void> {
  const fe = frontPath(s);
  const be = backPath(s);
  await xs.transaction(async (tx) => {
    const front: Record<string, string> = {
      backend: be,
      'backend-id': String(s.backDomid),
      state: String(XenbusState.Initialising),
      'virtual-device': String(s.vdev),
      'device-type': s.deviceType ?? 'disk',
      trusted: '1',
      protocol: 'x86_64-abi',
    };
    const back: Record<string, string> = {
      frontend: fe,
      params: s.target,
      script: '/etc/xen/scripts/block',
      'frontend-id': String(s.frontDomid),
      online: '1',
      removable: '0',
      bootable: '1',
      state: String(XenbusState.Initialising),
      dev: 'xvda',
      type: 'phy',
      mode: s.mode ?? 'w',
      'device-type': s.deviceType ?? 'disk',
      'discard-enable': '1',
      specification: 'xen',
    };
    if (s.sectorSize !== undefined) back['sector-size'] = String(s.sectorSize);
    await xs.mkdir(fe, tx);
    await xs.setPerms(fe, [`n${s.frontDomid}`, `r${s.backDomid}`], tx);
    await xs.mkdir(be, tx);
    await xs.setPerms(be, [`n${s.backDomid}`, `r${s.frontDomid}`], tx);
    for (const [k, v] of Object.entries(front)) await xs.write(`${fe}/${k}`, v, tx);
    for (const [k, v] of Object.entries(back)) await xs.write(`${be}/${k}`, v, tx);
  });
}

/** What the block hotplug script writes once the backend is in InitWait. */
export async function runHotplug(xs: XsClient, s: VbdSpec, outcome: 'connected' | { error: string } = 'connected'): Promise<void> {
  const be = backPath(s);
  await until(async () => (await readState(xs, be)) === XenbusState.InitWait, `${be} InitWait`);
  if (outcome === 'connected') {
    await xs.write(`${be}/physical-device`, '7:0');
    await xs.write(`${be}/physical-device-path`, s.target);
    await xs.write(`${be}/hotplug-status`, 'connected');
  } else {
    await xs.write(`${be}/hotplug-error`, outcome.error);
    await xs.write(`${be}/hotplug-status`, 'error');
  }
}

export async function readState(xs: XsClient, dir: string): Promise<number> {
  return Number((await xs.read(`${dir}/state`).catch(() => Buffer.from('-1'))).toString());
}

export async function readNode(xs: XsClient, path: string): Promise<string | undefined> {
  return xs.read(path).then(
    (b) => b.toString(),
    () => undefined,
  );
}

/** libxl's unplug of any device: online=0, backend Closing; wait for the backend to be Closed; remove both dirs. */
export async function unplug(xs: XsClient, front: string, be: string): Promise<void> {
  await xs.transaction(async (tx) => {
    await xs.write(`${be}/online`, '0', tx);
    await xs.write(`${be}/state`, String(XenbusState.Closing), tx);
  });
  await until(async () => (await readState(xs, be)) === XenbusState.Closed, `${be} Closed`);
  await xs.rm(front);
  await xs.rm(be);
}

export function removeVbd(xs: XsClient, s: VbdSpec): Promise<void> {
  return unplug(xs, frontPath(s), backPath(s));
}

/** A scratch directory with an image of `bytes` zero bytes (or the given contents). */
export function scratchImage(bytes: number | Uint8Array, name = 'disk.img'): { dir: string; path: string; dispose(): void } {
  const dir = scratchDir('xe-blk-');
  const path = join(dir, name);
  writeFileSync(path, typeof bytes === 'number' ? Buffer.alloc(bytes) : bytes);
  return { dir, path, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A running guest on a machine booted in-process. */
export async function machineWithGuest(name = 'g', extra = ''): Promise<{ tm: TestMachine; domid: number; kernel: Kernel }> {
  const tm = await bootMachine();
  const r = await tm.m.toolstack.create(yamlConfig(`name: ${name}\nmemory: 64\n${extra}`));
  await until(() => tm.m.toolstack.kernel(r.domid)?.state === 'running', 'guest running');
  return { tm, domid: r.domid, kernel: tm.m.toolstack.kernel(r.domid)! };
}

/** Attach a disk and wait until the guest's block layer has it. */
export async function attachDisk(tm: TestMachine, guest: Kernel, s: VbdSpec, name: string): Promise<BlockDevice> {
  await addVbd(tm.xs, s);
  await runHotplug(tm.xs, s);
  await until(async () => guest.blocks.find(name) !== undefined && (await readState(tm.xs, frontPath(s))) === XenbusState.Connected, `${name} connected in the guest's block layer`);
  return guest.blocks.find(name)!;
}

/** Deterministic bytes: byte i of the pattern seeded `seed`. */
export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A preadv from an in-memory disk: `buffers` filled in order from `position`. */
export function readFromDisk(disk: Uint8Array, buffers: readonly Uint8Array[], position: number): void {
  let at = position;
  for (const b of buffers) {
    b.set(disk.subarray(at, at + b.length));
    at += b.length;
  }
}

/** A pwritev to an in-memory disk: `buffers` written in order from `position`. */
export function writeToDisk(disk: Uint8Array, buffers: readonly Uint8Array[], position: number): void {
  let at = position;
  for (const b of buffers) {
    disk.set(b, at);
    at += b.length;
  }
}

/**
 * The value of the store node `statePath` at the moment each of `guest`'s event
 * channels is freed from now on (read straight from the store, not through a client).
 */
export function stateAtEachUnbind(tm: TestMachine, guest: Kernel, statePath: string): Array<string | undefined> {
  const seen: Array<string | undefined> = [];
  const unbind = guest.intr.unbindSource.bind(guest.intr);
  guest.intr.unbindSource = (src) => {
    seen.push(tm.m.xs.db.dump().find((n) => n.path === statePath)?.value);
    unbind(src);
  };
  return seen;
}
