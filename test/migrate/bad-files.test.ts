import test from 'ava';
import { ByteSource } from '../../src/toolstack/migrate/byte-source.js';
import { SaveFileError } from '../../src/toolstack/migrate/errors.js';
import { readSaveStream } from '../../src/toolstack/migrate/stream-reader.js';
import { writeSaveStream } from '../../src/toolstack/migrate/stream-writer.js';
import { imageOf } from '../helpers/domain-image.js';
import { bootMachine, until, yamlConfig } from '../helpers/machine.js';
import { recordOf, records } from '../helpers/save-craft.js';

let file: Buffer;

test.before(async () => {
  const tm = await bootMachine();
  const r = await tm.m.toolstack.create(yamlConfig('name: g\ntype: pv\nmemory: 64\nvcpus: 2\n'));
  await until(() => tm.m.kernel(r.domid)?.state === 'running', 'the guest boots');
  const chunks: Uint8Array[] = [];
  await writeSaveStream((pieces) => void chunks.push(...pieces), await imageOf(tm, r.domid), '{}');
  file = Buffer.concat(chunks);
  await tm.dispose();
});

const find = (layer: 'libxl' | 'libxc', type: number, nth = 0) => recordOf(file, layer, type, nth);

async function refusal(bytes: Buffer): Promise<SaveFileError> {
  try {
    await readSaveStream(ByteSource.of(bytes));
  } catch (err) {
    if (err instanceof SaveFileError) return err;
    throw err;
  }
  throw new Error('the stream was read');
}

test('a file cut anywhere is refused as truncated, naming the record it cut and where that record starts', async (t) => {
  const starts = records(file).map((r) => r.offset);
  for (let cut = 0; cut < file.length; cut += cut < 200 ? 1 : 61) {
    const err = await refusal(file.subarray(0, cut));
    t.regex(err.message, /truncated: the .* at offset \d+ needs \d+ bytes/, `cut at ${cut}`);
    t.true(err.offset <= cut, `cut at ${cut}: the record starts before the cut`);
    if (err.offset >= 48 + 16 && !/image header|domain header/.test(err.record)) t.true(starts.includes(err.offset), `cut at ${cut}: ${err.message}`);
  }
  const pages = find('libxc', 1);
  const err = await refusal(file.subarray(0, pages.offset + 100));
  t.is(err.message, `truncated: the PAGE_DATA record at offset ${pages.offset} needs ${(pages.length + 7) & ~7} bytes at offset ${pages.offset + 8}, the stream ends at ${pages.offset + 100}`);
});

const corrupt = (edit: (b: Buffer) => void): Buffer => {
  const b = Buffer.from(file);
  edit(b);
  return b;
};

test('corrupt files are refused naming the record and its offset', async (t) => {
  const page = find('libxc', 1);
  const tsc = find('libxc', 8);
  const ctx = find('libxl', 3);
  const vcpu = find('libxc', 4, 1);
  const libxlAt = 48 + file.readUInt32LE(44);
  const cases: Array<[string, Buffer, RegExp]> = [
    ['a foreign file', Buffer.from('#!/bin/sh\necho this is not a save file, just text long enough\n'), /^xl header at offset 0: not an xl save file/],
    ['a big-endian xl header', corrupt((b) => b.writeUInt32BE(0x01020304, 32)), /^xl header at offset 0: byte order 0x4030201/],
    ['an unknown mandatory flag', corrupt((b) => b.writeUInt32LE(0x7, 36)), /^xl header at offset 0: unknown mandatory flags 0x4/],
    ['a v1 (legacy) stream', corrupt((b) => b.writeUInt32LE(0x1, 36)), /^xl header at offset 0: a legacy \(v1\) stream/],
    ['a libxl stream of version 3', corrupt((b) => b.writeUInt32BE(3, libxlAt + 8)), new RegExp(`^libxl header at offset ${libxlAt}: libxl stream version 3`)],
    ['a PAGE_DATA with its reserved field set', corrupt((b) => b.writeUInt32LE(1, page.offset + 12)), new RegExp(`^PAGE_DATA at offset ${page.offset}: reserved field not zero`)],
    ['a PAGE_DATA counting more pfns than it holds', corrupt((b) => b.writeUInt32LE(0xffffff, page.offset + 8)), new RegExp(`^PAGE_DATA at offset ${page.offset}: 16777215 pfns do not fit`)],
    ['an unknown libxc record', corrupt((b) => b.writeUInt32LE(0x42, tsc.offset)), new RegExp(`^libxc record 0x42 at offset ${tsc.offset}: record type 0x42 is not one xenemu reads`)],
    ['a record of absurd length', corrupt((b) => b.writeUInt32LE(0xfffffff0, tsc.offset + 4)), new RegExp(`^X86_TSC_INFO at offset ${tsc.offset}: length 0xfffffff0 exceeds max \\(0x8000000\\)`)],
    ['non-zero padding', corrupt((b) => b.writeUInt8(1, ctx.offset + 8 + ctx.length)), new RegExp(`^EMULATOR_CONTEXT at offset ${ctx.offset}: its padding is not zeros`)],
    ['a QEMU emulator context', corrupt((b) => b.writeUInt32LE(2, ctx.offset + 8)), new RegExp(`^EMULATOR_CONTEXT at offset ${ctx.offset}: emulator 2 \\(QEMU upstream\\)`)],
    ['a device-model state of another version', corrupt((b) => b.writeUInt32LE(9, ctx.offset + 8 + 8 + 4)), new RegExp(`^EMULATOR_CONTEXT record at offset ${ctx.offset}: state version 9`)],
    ['vCPUs out of order', corrupt((b) => b.writeUInt32LE(5, vcpu.offset + 8)), new RegExp(`^X86_PV_VCPU_BASIC at offset ${vcpu.offset}: vCPU 5 where vCPU 1 comes next`)],
    ['an HVM domain header on PV records', corrupt((b) => b.writeUInt32LE(2, libxlAt + 16 + 8 + 24)), /^X86_PV_INFO at offset \d+: a record of PV domains in an x86 HVM stream/],
  ];
  for (const [what, bytes, expected] of cases) {
    const err = await refusal(bytes);
    t.regex(err.message, expected, what);
    t.is(err.code, 'EINVAL');
  }
});
