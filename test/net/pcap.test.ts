import test from 'ava';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePcap, PcapFormatError } from '../../src/net/pcap-format.js';
import { PcapWriter } from '../../src/net/pcap-writer.js';
import { needing } from '../helpers/needing.js';
import { tsharkFields, tsharkMissing } from '../helpers/tshark.js';

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'xe-pcap-'));
}

/** A broadcast frame of `len` bytes whose payload bytes count up from `seed`. */
function frame(len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len);
  f.fill(0xff, 0, 6);
  f.set([0x00, 0x16, 0x3e, 0, 0, seed & 0xff], 6);
  f[12] = 0x88;
  f[13] = 0xb5; // IEEE local experimental ethertype
  for (let i = 14; i < len; i++) f[i] = (seed + i) & 0xff;
  return f;
}

test('frames written are read back whole, with their lengths and timestamps (one clock reading per burst in a turn)', (t) => {
  const dir = scratch();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let us = 1_700_000_000_123_456;
  let turnEnd: (() => void) | null = null;
  const w = new PcapWriter({ path: join(dir, 'sub', 'a.pcap'), log: () => t.fail('no error expected'), now: () => us++, defer: (fn) => (turnEnd = fn) });
  const frames = [frame(60, 1), frame(1514, 2), frame(65550, 3)];
  // The first two in one turn share a clock reading; the turn ends, the third gets a new one.
  w.write(frames[0]!);
  w.write(frames[1]!);
  turnEnd!();
  w.write(frames[2]!);
  w.close();
  const p = parsePcap(readFileSync(join(dir, 'sub', 'a.pcap')), 'a.pcap');
  t.is(p.linkType, 1);
  t.deepEqual(p.records.map((r) => Buffer.from(r.data)), frames.map((f) => Buffer.from(f)));
  t.deepEqual(p.records.map((r) => [r.tsSec, r.tsNsec]), [[1_700_000_000, 123_456_000], [1_700_000_000, 123_456_000], [1_700_000_000, 123_457_000]]);
  t.deepEqual(w.stats, { records: 3, bytes: 60 + 1514 + 65550, dropped: 0 });
});

test('a writer reopening its capture appends to it; a file that is not a pcap is left alone and reported', (t) => {
  const dir = scratch();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'a.pcap');
  for (const seed of [1, 2]) {
    const w = new PcapWriter({ path, log: () => t.fail(), defer: () => {} });
    w.write(frame(100, seed));
    w.close();
  }
  t.is(parsePcap(readFileSync(path), path).records.length, 2);
  const other = join(dir, 'notes.txt');
  writeFileSync(other, 'my notes, not a capture\n');
  const log: string[] = [];
  const w = new PcapWriter({ path: other, log: (l) => log.push(l), defer: () => {} });
  w.write(frame(100, 3));
  w.close();
  t.is(readFileSync(other, 'utf8'), 'my notes, not a capture\n');
  t.is(log.length, 1);
  t.regex(log[0]!, /notes\.txt: cannot open it: it exists and is not a little-endian Ethernet pcap file/);
  t.is(w.stats.dropped, 1);
});

test('a capture that cannot be written is reported once and frames keep flowing past it', (t) => {
  if (process.getuid?.() === 0) {
    // root writes through permissions: a full device is what fails for root.
    const log: string[] = [];
    const w = new PcapWriter({ path: '/dev/full', log: (l) => log.push(l), defer: () => {} });
    for (let i = 0; i < 1000; i++) w.write(frame(1500, i));
    w.close();
    t.is(log.length, 1, log.join('\n'));
    t.regex(log[0]!, /^capture \/dev\/full: cannot (open|write) it: .*(ENOSPC|not a little-endian).*; frames are no longer captured there \(the NIC keeps working\)$/);
    t.is(w.stats.records + w.stats.dropped, 1000);
    return;
  }
  const dir = scratch();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o500);
  const log: string[] = [];
  const w = new PcapWriter({ path: join(dir, 'x', 'a.pcap'), log: (l) => log.push(l), defer: () => {} });
  for (let i = 0; i < 10; i++) w.write(frame(60, i));
  t.is(log.length, 1);
  t.regex(log[0]!, /EACCES/);
  t.is(w.stats.dropped, 10);
});

test('the reader names what is wrong and where: bad magic, pcapng, a cut header, a cut record, an oversized record', (t) => {
  const dir = scratch();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'a.pcap');
  const w = new PcapWriter({ path, log: () => t.fail(), defer: () => {} });
  w.write(frame(100, 1));
  w.write(frame(200, 2));
  w.close();
  const good = readFileSync(path);
  const err = (b: Uint8Array): PcapFormatError => t.throws(() => parsePcap(b, 'x.pcap'), { instanceOf: PcapFormatError })!;
  t.is(err(good.subarray(0, 10)).message, 'x.pcap: not a usable pcap file: global header cut short (10 of 24 bytes) at byte offset 10');
  const bad = Buffer.from(good);
  bad.writeUInt32LE(0xdeadbeef, 0);
  t.is(err(bad).message, 'x.pcap: not a usable pcap file: bad magic 0xdeadbeef at byte offset 0');
  const ng = Buffer.from(good);
  ng.writeUInt32LE(0x0a0d0d0a, 0);
  t.regex(err(ng).message, /pcapng: convert it with `editcap -F pcap`/);
  t.is(err(good.subarray(0, 24 + 16 + 100 + 5)).message, 'x.pcap: not a usable pcap file: record 2: header cut short (5 of 16 bytes) at byte offset 140');
  t.is(err(good.subarray(0, good.length - 1)).message, 'x.pcap: not a usable pcap file: record 2: data cut short (199 of 200 bytes) at byte offset 156');
  const big = Buffer.from(good);
  big.writeUInt32LE(0x7fffffff, 24 + 8);
  t.is(err(big).offset, 32);
  t.is(err(big).code, 'EINVAL');
});

test('the reader takes big-endian and nanosecond files too', (t) => {
  const b = Buffer.alloc(24 + 16 + 4);
  b.writeUInt32BE(0xa1b23c4d, 0);
  b.writeUInt16BE(2, 4);
  b.writeUInt16BE(4, 6);
  b.writeUInt32BE(65535, 16);
  b.writeUInt32BE(1, 20);
  b.writeUInt32BE(5, 24);
  b.writeUInt32BE(999_999_999, 28);
  b.writeUInt32BE(4, 32);
  b.writeUInt32BE(64, 36);
  b.set([1, 2, 3, 4], 40);
  const p = parsePcap(b, 'be.pcap');
  t.deepEqual({ ...p.records[0]!, data: [...p.records[0]!.data] }, { tsSec: 5, tsNsec: 999_999_999, data: [1, 2, 3, 4], origLen: 64 });
});

needing(tsharkMissing)('tshark reads a capture while it grows: every flushed frame, whole', (t) => {
  const dir = scratch();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'grow.pcap');
  const w = new PcapWriter({ path, log: () => t.fail(), defer: () => {} });
  w.write(frame(60, 1));
  w.write(frame(1514, 2));
  w.flush();
  t.deepEqual(tsharkFields(path, ['frame.number', 'frame.len', 'eth.src']), [
    ['1', '60', '00:16:3e:00:00:01'],
    ['2', '1514', '00:16:3e:00:00:02'],
  ]);
  w.write(frame(100, 3));
  w.flush();
  t.is(tsharkFields(path, ['frame.len']).length, 3, 'the file stays readable as it grows, the writer still open');
  w.close();
});

test('a capture past its size limit rotates between two records, keeping `backups` old files, each a whole capture; nothing kept is lost', (t) => {
  const dir = scratch();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'busy.pcap');
  const limits = { maxBytes: 1 << 20, backups: 2 };
  let turnEnd: (() => void) | null = null;
  const w = new PcapWriter({ path, log: () => t.fail('no error expected'), defer: (fn) => (turnEnd = fn), limits });
  // 12 MiB of frames of varied sizes, some turns holding many: four times what the three files hold.
  let seed = 0;
  for (let turn = 0; turn < 400; turn++) {
    for (let i = 0; i < 20; i++, seed++) w.write(frame(60 + ((seed * 997) % 3000), seed));
    turnEnd!();
  }
  w.close();
  const files = [`${path}.2`, `${path}.1`, path];
  t.false(existsSync(`${path}.3`), 'no more than two old ones');
  const seeds: number[] = [];
  for (const f of files) {
    const bytes = readFileSync(f);
    t.true(bytes.length <= limits.maxBytes, `${f}: ${bytes.length} bytes`);
    // Each is a capture on its own: its global header, then whole records.
    for (const r of parsePcap(bytes, f).records) seeds.push(r.data[11]!);
  }
  t.true(statSync(`${path}.2`).size > limits.maxBytes - 4000, 'the oldest kept file is a full one');
  // What is kept runs on without a gap up to the last frame written (seeds modulo 256, in order).
  t.is(seeds.at(-1), (seed - 1) & 0xff);
  t.true(seeds.every((s, i) => i === 0 || s === ((seeds[i - 1]! + 1) & 0xff)), 'no frame missing between the files');
  t.deepEqual(w.stats, { records: seed, bytes: w.stats.bytes, dropped: 0 });
});
