import test from 'ava';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { needing } from '../helpers/needing.js';
import { withConfigJson } from '../helpers/save-craft.js';
import { mountTmpfs, unmount } from '../helpers/tmpfs.js';
import { assertXlBuilt, lit, scratch, scratchFile, xlHost, type XlHost } from './helpers.js';

// xenemu save / restore and the xl shim's, against a daemon: xl's messages and exit
// statuses, what becomes of the domain (-c running, -p paused, else gone), a restore
// with the guest's own XenStore nodes back, and bad files refused with nothing created.

let h: XlHost;
const dir = scratch('xe-sr-');
const CONFIG = scratchFile('sr.yaml', 'name: sr\ntype: pv\nmemory: 64\nvcpus: 2\n');

test.before(async () => {
  assertXlBuilt();
  h = await xlHost();
});

test.after.always(async () => {
  await h?.dispose();
});

async function created(name: string): Promise<void> {
  const r = await h.xenemu('create', CONFIG, `name="${name}"`);
  if (r.code !== 0) throw new Error(r.stderr);
  await h.until((rows) => rows.some((x) => x.name === name && x.stateFlags.blocked), `${name} idle`);
}

const row = async (name: string) => (await (await h.client()).list()).find((x) => x.name === name);

test.serial('save -c writes the file and leaves the domain running; save -p leaves it paused', async (t) => {
  await created('sr');
  const file = join(dir, 'sr-c.save');
  const c = await h.xenemu('save', '-c', 'sr', file);
  t.is(c.code, 0, c.stderr);
  t.regex(c.stderr, new RegExp(`^Saving to ${lit(file)} new xl format \\(info 0x3/0x0/\\d+\\)\\n$`));
  t.true(statSync(file).size > 4096);
  t.is(readFileSync(file).subarray(0, 32).toString('latin1'), 'Xen saved domain, xl format\n \0 \r');
  t.false((await row('sr'))!.stateFlags.paused, 'running after -c');

  const p = await h.xl('save', '-p', 'sr', join(dir, 'sr-p.save'));
  t.is(p.code, 0, p.stderr);
  await h.until((rows) => rows.some((x) => x.name === 'sr' && x.stateFlags.paused), 'sr paused');
  t.is((await h.xenemu('unpause', 'sr')).code, 0);
  await h.until((rows) => rows.some((x) => x.name === 'sr' && !x.stateFlags.paused), 'sr running');
});

test.serial('save then restore: the domain goes, and comes back with its own XenStore nodes; restore -p leaves it paused', async (t) => {
  await created('rt');
  const domid = (await row('rt'))!.domid;
  await h.xenemu('xenstore', 'write', `/local/domain/${domid}/data/kept`, 'across the save');
  const file = join(dir, 'rt.save');
  const s = await h.xl('save', 'rt', file);
  t.is(s.code, 0, s.stderr);
  t.is(await row('rt'), undefined, 'saved without -c: the domain is gone');

  const r = await h.xenemu('restore', '-p', file, '--json');
  t.is(r.code, 0, r.stderr);
  t.is(
    r.stderr,
    `Loading new save file ${file} (new xl fmt info 0x3/0x0/${readFileSync(file).readUInt32LE(44)})\n Savefile contains xl domain config in JSON format\nParsing config from <saved>\n`,
  );
  const out = JSON.parse(r.stdout) as { domid: number; name: string; paused: boolean };
  t.like(out, { name: 'rt', paused: true });
  t.true((await row('rt'))!.stateFlags.paused);
  const kept = await h.xenemu('xenstore', 'read', `/local/domain/${out.domid}/data/kept`);
  t.is(kept.stdout, 'across the save\n');
  // Its kernel has not run yet, but its log came with it.
  t.regex((await h.xenemu('dmesg', 'rt')).stdout, /xen:manage: suspending xenstore\.\.\.\n$/);
  t.is((await h.xl('unpause', 'rt')).code, 0);
  await h.until((rows) => rows.some((x) => x.name === 'rt' && x.stateFlags.blocked && !x.stateFlags.paused), 'rt runs again');
});

test.serial('bad files are refused with xl\'s words or the record and offset, and nothing is created', async (t) => {
  await created('bad');
  const good = join(dir, 'bad.save');
  t.is((await h.xenemu('save', '-c', 'bad', good)).code, 0);
  const before = (await (await h.client()).list()).map((x) => x.domid);
  const bytes = readFileSync(good);

  const foreign = scratchFile('foreign.save', '#!/bin/sh\necho not a save file at all, but long enough\n');
  const f = await h.xl('restore', foreign);
  t.is(f.code, 1);
  t.is(f.stderr, 'File has wrong magic number - corrupt or for a different tool?\n');

  const cut = join(dir, 'cut.save');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 5000));
  const tr = await h.xenemu('restore', cut);
  t.is(tr.code, 1);
  t.regex(tr.stderr, /^Loading new save file .*\n Savefile contains xl domain config in JSON format\nParsing config from <saved>\nxenemu: truncated: the [A-Z_]+ record at offset \d+ needs \d+ bytes at offset \d+, the stream ends at \d+\n$/);

  const flipped = Buffer.from(bytes);
  flipped.writeUInt32LE(0x42, 48 + bytes.readUInt32LE(44) + 16 + 8 + 24 + 16);
  const corrupt = join(dir, 'corrupt.save');
  writeFileSync(corrupt, flipped);
  const co = await h.xenemu('restore', corrupt);
  t.is(co.code, 1);
  t.regex(co.stderr, /xenemu: libxc record 0x42 at offset \d+: record type 0x42 is not one xenemu reads\n$/);

  const missing = await h.xl('restore', join(dir, 'nope.save'));
  t.is(missing.code, 1);
  t.is(missing.stderr, "Can't open restore file: No such file or directory\n");

  t.deepEqual((await (await h.client()).list()).map((x) => x.domid), before, 'no domain was created');
});

test.serial('a file declaring more memory than the host has free is refused with xl\'s words before any page is read, nothing created', async (t) => {
  await created('big');
  const good = join(dir, 'big.save');
  t.is((await h.xenemu('save', '-c', 'big', good)).code, 0);
  const before = (await (await h.client()).list()).map((x) => x.domid);
  const config = storedConfig(good) as unknown as { b_info: Record<string, unknown> };
  const huge = withConfigJson(readFileSync(good), JSON.stringify({ ...config, b_info: { ...config.b_info, max_memkb: 2 ** 30, target_memkb: 2 ** 30 } }));
  // Cut after the libxl header: refused for the memory, so before the pages.
  const file = join(dir, 'huge.save');
  writeFileSync(file, huge.subarray(0, 48 + huge.readUInt32LE(44) + 16));
  const r = await h.xl('restore', file);
  t.is(r.code, 1);
  t.regex(r.stderr, /\nParsing config from <saved>\nfailed to free memory for the domain: 1048576 MiB asked, \d+ MiB free\n$/);
  t.deepEqual((await (await h.client()).list()).map((x) => x.domid), before, 'no domain was created');
});

test.serial('save to a file that cannot be opened fails as xl does and the domain runs on; usage as xl', async (t) => {
  await created('keep');
  const r = await h.xl('save', 'keep', '/nonexistent/dir/keep.save');
  t.is(r.code, 1);
  t.is(r.stderr, 'Failed to open temp file /nonexistent/dir/keep.save for writing\n');
  t.false((await row('keep'))!.stateFlags.paused);
  const none = await h.xl('save', 'nosuch', join(dir, 'x.save'));
  t.is(none.code, 1);
  t.is(none.stderr, 'nosuch is an invalid domain identifier (rc=-6)\n');
  const usage = await h.xl('restore');
  t.is(usage.code, 2);
  t.regex(usage.stdout, /^Usage: xl \[-vtTf\] restore \[options\] \[<ConfigFile>\] <CheckpointFile>/);
});

/** The config JSON xl stored in a save file's header. */
function storedConfig(file: string): { c_info: { name: string; domid?: number } } {
  const b = readFileSync(file);
  const length = b.readUInt32LE(48);
  return JSON.parse(b.subarray(52, 52 + length - 1).toString('utf8')) as { c_info: { name: string; domid?: number } };
}

test.serial('save -D stores the domain id in the config (0 without); restore CONFIG FILE builds from that config', async (t) => {
  await created('dd');
  const domid = (await row('dd'))!.domid;
  const plain = join(dir, 'dd-plain.save');
  t.is((await h.xenemu('save', '-c', 'dd', plain)).code, 0);
  t.is(storedConfig(plain).c_info.name, 'dd');
  t.is(storedConfig(plain).c_info.domid ?? 0, 0);
  const keep = join(dir, 'dd-D.save');
  t.is((await h.xl('save', '-D', 'dd', keep)).code, 0);
  t.is(storedConfig(keep).c_info.domid, domid);
  t.is(await row('dd'), undefined);

  const other = scratchFile('other.yaml', 'name: other\ntype: pv\nmemory: 64\nvcpus: 2\n');
  const r = await h.xl('restore', other, keep);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, new RegExp(`\\nParsing config from ${lit(other)}\\n$`));
  await h.until((rows) => rows.some((x) => x.name === 'other' && x.stateFlags.blocked), 'other runs');
});

test.serial('a save whose header cannot be written (/dev/full) suspends nothing: the domain runs on', async (t) => {
  await created('full');
  const r = await h.xl('save', 'full', '/dev/full');
  t.is(r.code, 1);
  t.is(r.stderr, 'xenemu: write of the save file: No space left on device\n');
  t.false((await row('full'))!.stateFlags.paused);
});

const tmpfs = process.getuid?.() === 0 ? mountTmpfs('16k') : { problem: 'mounting a tmpfs needs root' };
const onTmpfs = needing('problem' in tmpfs ? tmpfs.problem : null, { serial: true });
test.after.always(() => {
  if ('dir' in tmpfs) unmount(tmpfs.dir);
});

onTmpfs('a save whose disk fills up after the suspend resumes the domain, which runs on and answers, as xl does', async (t) => {
  if (!('dir' in tmpfs)) return;
  await created('filled');
  const r = await h.xl('save', 'filled', join(tmpfs.dir, 'filled.save'));
  t.is(r.code, 1);
  t.regex(r.stderr, /^Saving to .*filled\.save new xl format \(info 0x3\/0x0\/\d+\)\nxenemu: write of the save file: No space left on device\nFailed to save domain, resuming domain\n$/);
  const after = await row('filled');
  t.truthy(after, 'the domain is still there');
  t.is((await h.xenemu('xenstore', 'write', `/local/domain/${after!.domid}/control/shutdown`, 'poweroff')).code, 0);
  await h.until((rows) => !rows.some((x) => x.name === 'filled'), 'the resumed guest answers its control node and powers off');
});
