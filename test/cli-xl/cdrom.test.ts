import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { patternBytes } from '../../src/kernel/blk/block-io.js';
import { assertXlBuilt, RUN_JS, runNode, scratch, scratchFile, xlHost, type XlHost } from './helpers.js';

// xl cd-insert and cd-eject (tools/xl/xl_cdrom.c, libxl_cdrom_insert in libxl_disk.c
// 4.17) through the xl shim and `xenemu`: xl's messages and statuses, and what the
// guest sees, read through its own block layer with `xenemu block-io`.

assertXlBuilt();

const dir = scratch('xe-cd-');
const KiB = 1024;

/** An image whose bytes are block-io's offset pattern (seed 1): verify finds any byte out of place. */
function iso(name: string, bytes: number): string {
  const p = join(dir, name);
  writeFileSync(p, patternBytes('offset', 1, 0, bytes));
  return p;
}

const HVM = (name: string, disks: string) => scratchFile(`${name}.cfg`, `name = "${name}"\ntype = "hvm"\nmemory = 64\ndisk = [ ${disks} ]\n`);

async function hvmGuest(t: { teardown(fn: () => Promise<void>): void }, disks: string): Promise<XlHost> {
  const h = await xlHost();
  t.teardown(() => h.dispose());
  const r = await h.xl('create', '-q', HVM('win', disks));
  if (r.code !== 0) throw new Error(r.stderr);
  await h.disksConnected('win');
  return h;
}

/** block-io's verify of the guest's hdc against `file`, or its failure. */
async function verify(h: XlHost, file: string): Promise<{ code: number; mismatches?: number; bytes?: number; stderr: string }> {
  const r = await h.xenemu('block-io', 'win', 'hdc', 'verify', '--from', file, '--json');
  if (r.code !== 0) return { code: r.code, stderr: r.stderr };
  const j = JSON.parse(r.stdout) as { mismatches: number; bytes: number };
  return { code: 0, mismatches: j.mismatches, bytes: j.bytes, stderr: r.stderr };
}

/** The guest's hdc as `block-list --json` shows it (its target, and the sectors its backend serves). */
async function hdc(h: XlHost): Promise<{ target: string; state: number; backendState: number; sectors: number | undefined }> {
  const [entry] = JSON.parse((await h.xenemu('block-list', '--json', 'win')).stdout) as Array<{
    disks: Array<{ vdev: string; target: string; state: number; backendState: number; stats?: { sectors: number } }>;
  }>;
  const d = entry!.disks.find((x) => x.vdev === 'hdc')!;
  return { target: d.target, state: d.state, backendState: d.backendState, sectors: d.stats?.sectors };
}

/** Poll hdc through the CLI (a new daemon after a restart: no client kept) until both ends are Connected. */
async function hdcConnected(h: XlHost): Promise<Awaited<ReturnType<typeof hdc>>> {
  for (let i = 0; i < 500; i++) {
    const d = await hdc(h).catch(() => null);
    if (d !== null && d.state === 4 && d.backendState === 4) return d;
  }
  throw new Error('never happened: hdc Connected after the restart');
}

/** Both ends Connected: when cd-insert returns, the guest has the drive back. */
const CONNECTED = { state: 4, backendState: 4 };

test('insert, eject, insert again: the guest reads the new medium\'s bytes at its size, an empty drive fails its reads; the medium survives a restart', async (t) => {
  const h = await hvmGuest(t, "',hdc:cdrom,r'");
  const a = iso('a.iso', 192 * KiB);
  const b = iso('b.iso', 64 * KiB);

  // The empty drive of the config: no medium, reads fail.
  t.like(await hdc(h), { target: '', sectors: 0 });
  t.deepEqual(await h.xenemu('block-io', 'win', 'hdc', 'read', '--length', '4k'), { stdout: '', stderr: 'xenemu: hdc: read of 4096 bytes at 0 goes past the end of the disk (0 bytes)\n', code: 1 });

  t.deepEqual(await h.xl('cd-insert', 'win', 'hdc', a), { stdout: '', stderr: '', code: 0 });
  t.like(await hdc(h), { target: a, ...CONNECTED, sectors: (192 * KiB) / 512 });
  t.like(await verify(h, a), { code: 0, mismatches: 0, bytes: 192 * KiB });
  // The guest's own idea of the disk's size: a read with no --length reads to its end.
  t.like(JSON.parse((await h.xenemu('block-io', 'win', 'hdc', 'read', '--json')).stdout), { bytes: 192 * KiB });
  // list -l: the disk as libxl keeps it, with its medium.
  t.regex((await h.xl('list', '-l', 'win')).stdout, new RegExp(`"pdev_path": "${a}",\\s*"vdev": "hdc",\\s*"format": "raw"`));

  // A different medium, through `xenemu`, with a relative path (the caller's directory).
  const relative = await runNode(RUN_JS, ['cd-insert', 'win', 'hdc', 'b.iso'], h.env, dir);
  t.deepEqual(relative, { stdout: '', stderr: '', code: 0 });
  t.like(await hdc(h), { target: b, ...CONNECTED, sectors: (64 * KiB) / 512 });
  t.like(await verify(h, b), { code: 0, mismatches: 0, bytes: 64 * KiB });

  t.deepEqual(await h.xl('cd-eject', 'win', 'hdc'), { stdout: '', stderr: '', code: 0 });
  t.like(await hdc(h), { target: '', ...CONNECTED, sectors: 0 });
  const read = await h.xenemu('block-io', 'win', 'hdc', 'read', '--length', '4k');
  // As the config's empty drive: a disk of 0 bytes, the guest's block layer refuses the read.
  t.deepEqual(read, { stdout: '', stderr: 'xenemu: hdc: read of 4096 bytes at 0 goes past the end of the disk (0 bytes)\n', code: 1 });
  t.regex((await h.xl('list', '-l', 'win')).stdout, /"pdev_path": "",\s*"vdev": "hdc",\s*"format": "empty"/);

  // The medium is the domain's: a restart of the daemon brings the drive back with it,
  // after `host stop` (the guest resumed from its image) and after kill -9 alike.
  t.deepEqual(await h.xenemu('cd-insert', 'win', 'hdc', a), { stdout: '', stderr: '', code: 0 });
  const pid = h.host.pid();
  await h.host.stop();
  await h.host.restart();
  t.not(h.host.pid(), pid);
  t.like(await hdcConnected(h), { target: a, sectors: (192 * KiB) / 512 });
  t.like(await verify(h, a), { code: 0, mismatches: 0 });
  t.deepEqual(await h.xl('cd-eject', 'win', 'hdc'), { stdout: '', stderr: '', code: 0 });
  await h.host.kill();
  await h.host.restart();
  t.like(await hdcConnected(h), { target: '', sectors: 0 });
  t.regex((await h.xl('list', '-l', 'win')).stdout, /"pdev_path": "",\s*"vdev": "hdc",\s*"format": "empty"/);
});

test('bad input: xl\'s messages and statuses, and the drive as it was', async (t) => {
  const h = await hvmGuest(t, "'vdev=xvda, target=" + iso('disk.img', 64 * KiB) + "', ',hdc:cdrom,r'");
  const a = iso('c.iso', 64 * KiB);
  const r = await h.xl('create', '-q', scratchFile('pv.yaml', 'name: pv\nmemory: 64\n'));
  t.is(r.code, 0, r.stderr);
  const before = JSON.stringify(await hdc(h));

  t.deepEqual(await h.xl('cd-insert', 'nosuch', 'hdc', a), { stdout: '', stderr: 'nosuch is an invalid domain identifier (rc=-6)\n', code: 1 });
  t.deepEqual(await h.xl('cd-insert', '99', 'hdc', a), { stdout: '', stderr: 'xenemu: unable to get domain type for domid=99\n', code: 1 });
  t.deepEqual(await h.xl('cd-insert', 'win', 'hdc', '/nonexistent/x.iso'), { stdout: '', stderr: 'Cannot stat file: /nonexistent/x.iso\n', code: 1 });
  t.deepEqual(await h.xenemu('cd-insert', 'win', 'hdc', 'nope.iso'), { stdout: '', stderr: 'Cannot stat file: nope.iso\n', code: 1 });
  // xvda is a disk, not a cdrom; xvdc is not there; "xvdc" is not how the drive was named (hdc).
  for (const vdev of ['xvda', 'hdd', 'xvdc']) {
    t.deepEqual(await h.xl('cd-insert', 'win', vdev, a), { stdout: '', stderr: 'xenemu: Virtual device not found\n', code: 1 }, vdev);
  }
  t.deepEqual(await h.xl('cd-eject', 'win', 'xvda'), { stdout: '', stderr: 'xenemu: Virtual device not found\n', code: 1 });
  t.deepEqual(await h.xl('cd-insert', 'pv', 'hdc', a), { stdout: '', stderr: 'xenemu: cdrom-insert requires an HVM domain\n', code: 1 });
  t.deepEqual(await h.xl('cd-eject', '0', 'hdc'), { stdout: '', stderr: 'xenemu: cdrom-insert requires an HVM domain\n', code: 1 });
  // xl's usage: three arguments (status 2, the help on stdout).
  const usage = await h.xl('cd-insert', 'win', 'hdc');
  t.is(usage.code, 2);
  t.is(usage.stderr, "'xl cd-insert' requires at least 3 arguments.\n\n");
  t.regex(usage.stdout, /^Usage: xl \[-vtTfN\] cd-insert <Domain> <VirtualDevice> <path>\n/);

  // A paused guest cannot let go of the drive here (xl's QEMU would not need it to): refused, nothing changed.
  t.is((await h.xl('pause', 'win')).code, 0);
  const paused = await h.xl('cd-insert', 'win', 'hdc', a);
  t.is(paused.code, 1);
  t.regex(paused.stderr, /^xenemu: domain \d+ is paused: its frontend cannot let go of hdc for the medium to change; unpause it first\n$/);
  t.is((await h.xl('unpause', 'win')).code, 0);

  t.is(JSON.stringify(await hdc(h)), before);
  t.like(await hdc(h), { target: '', sectors: 0, state: 4 });

  // A guest that crashed (and is kept, on_crash=preserve) has no frontend to let go either.
  const kept = await h.xl('create', '-q', scratchFile('kept.cfg', 'name = "kept"\ntype = "hvm"\nmemory = 64\non_crash = "preserve"\ndisk = [ \',hdc:cdrom,r\' ]\n'));
  t.is(kept.code, 0, kept.stderr);
  await h.disksConnected('kept');
  t.is((await h.xl('sysrq', 'kept', 'c')).code, 0);
  await h.until((rs) => rs.some((r) => r.name === 'kept' && r.stateFlags.shutdown), 'kept crashed');
  const crashed = await h.xl('cd-insert', 'kept', 'hdc', a);
  t.is(crashed.code, 1);
  t.regex(crashed.stderr, /^xenemu: domain \d+ has shut down: its frontend cannot let go of hdc for the medium to change\n$/);
});

test('a medium that fails to attach (its hotplug script fails) leaves the old one in, connected; two changes at once both finish, one after the other', async (t) => {
  const h = await hvmGuest(t, "',hdc:cdrom,r'");
  const a = iso('d.iso', 64 * KiB);
  const b = iso('e.iso', 128 * KiB);
  t.deepEqual(await h.xl('cd-insert', 'win', 'hdc', a), { stdout: '', stderr: '', code: 0 });

  // The drive's removal runs the script once (its failure only logged, as libxl logs it), the new medium's add a second time: that one fails.
  t.is((await h.xenemu('fault', 'add', 'hotplug-fail', 'win', '--count', '2')).code, 0);
  const failed = await h.xl('cd-insert', 'win', 'hdc', b);
  t.is(failed.code, 1);
  t.regex(failed.stderr, /^xenemu: script: hotplug script \/etc\/xen\/scripts\/block add failed for \/local\/domain\/0\/backend\/vbd\/\d+\/5632: exit status 1 \(xenemu fault \d+: hotplug-fail\)\n$/);
  t.like(await hdc(h), { target: a, ...CONNECTED, sectors: (64 * KiB) / 512 });
  t.like(await verify(h, a), { code: 0, mismatches: 0 });
  t.regex((await h.xl('list', '-l', 'win')).stdout, new RegExp(`"pdev_path": "${a}"`));

  const both = await Promise.all([h.xl('cd-insert', 'win', 'hdc', b), h.xl('cd-eject', 'win', 'hdc')]);
  t.deepEqual(both, [{ stdout: '', stderr: '', code: 0 }, { stdout: '', stderr: '', code: 0 }]);
  const now = await hdc(h);
  t.like(now, CONNECTED);
  // Whichever came second is in the drive, and the guest sees exactly that.
  if (now.target === b) t.like(await verify(h, b), { code: 0, mismatches: 0, bytes: 128 * KiB });
  else t.like(now, { target: '', sectors: 0 });
});
