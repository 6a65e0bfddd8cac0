/**
 * Reads what stream-writer.ts writes (an xl save file, or the same stream off a
 * migration pipe) back into a DomainImage, record by record. The stream is untrusted:
 * anything foreign, truncated, corrupt or out of order is refused with a SaveFileError
 * naming the record (by its spec name) and the byte offset where it starts, and
 * nothing is built from a stream that did not reach its END whole.
 *
 * Pages may come in several rounds (live migration's pre-copy): a later PAGE_DATA's
 * page replaces an earlier one's, and an XTAB entry drops the frame.
 */

import { XEN_PAGE_SHIFT, XEN_PAGE_SIZE } from '../../abi/layout.js';
import { z } from 'zod';
import type { SavedDomain, SavedVcpu } from '../../hypervisor/domain.js';
import { GuestMemory, MAX_FRAMES, ReadFrames } from '../../hypervisor/memory.js';
import { MAX_VCPUS } from '../config/index.js';
import { ByteSource } from './byte-source.js';
import { SaveFileError } from './errors.js';
import { joined } from './joined.js';
import type { DomainImage } from './image.js';
import { decodeStateBlob } from './state-blob.js';
import {
  DHDR_TYPE_X86_HVM,
  DHDR_TYPE_X86_PV,
  EMULATOR_ID_UNKNOWN,
  LIBXC_IDENT,
  LIBXC_MARKER,
  LIBXC_REC,
  LIBXL_IDENT,
  LIBXL_REC,
  LIBXL_VERSION,
  PFINFO_TYPES_WITH_DATA,
  PFN_MASK,
  PFN_TYPE_SHIFT,
  XL_BYTEORDER,
  XL_MAGIC,
  XL_MANDATORY_FLAG_ALL,
  XL_MANDATORY_FLAG_JSON,
  XL_MANDATORY_FLAG_STREAMV2,
  padded,
  recordName,
  type XlHeaderInfo,
} from './stream-format.js';
import type { EmulatorContext } from './stream-writer.js';

/**
 * libxc's REC_LENGTH_MAX (xg_sr_stream_format.h): read_record refuses a longer record
 * before allocating its buffer. No record of ours comes near it (a PAGE_DATA of 1024
 * pages is 4 MiB); libxl records are held to it too.
 */
export const REC_LENGTH_MAX = 128 << 20;
/** Pages of a PAGE_DATA record backed ahead of their bytes at most (libxc's MAX_BATCH_SIZE). */
const PAGES_AHEAD = 1024;
/** The xl header's optional data (the config) is at most this. */
const XL_OPTIONAL_MAX = 64 << 20;

export interface ReadSaveStream {
  header: XlHeaderInfo;
  /** header.configJson, for short. */
  configJson: string | null;
  image: DomainImage;
}

interface Rec {
  type: number;
  name: string;
  offset: number;
  body: Buffer;
}

function fail(what: string, record: string, offset: number): never {
  throw new SaveFileError(`${record} at offset ${offset}: ${what}`, record, offset);
}

/** A record's type and length, its body not read yet. */
interface RecHead {
  type: number;
  name: string;
  offset: number;
  length: number;
}

async function readRecordHead(src: ByteSource, layer: 'libxl' | 'libxc'): Promise<RecHead> {
  const offset = src.offset;
  const head = await src.read(8, `${layer} record header`, offset);
  const type = head.readUInt32LE(0);
  const length = head.readUInt32LE(4);
  const name = recordName(layer, type);
  if (length > REC_LENGTH_MAX) fail(`length 0x${length.toString(16)} exceeds max (0x${REC_LENGTH_MAX.toString(16)})`, name, offset);
  return { type, name, offset, length };
}

async function readBody(src: ByteSource, h: RecHead): Promise<Rec> {
  const data = await src.read(padded(h.length), `${h.name} record`, h.offset);
  if (data.subarray(h.length).some((b) => b !== 0)) fail('its padding is not zeros', h.name, h.offset);
  return { type: h.type, name: h.name, offset: h.offset, body: data.subarray(0, h.length) };
}

async function readRecord(src: ByteSource, layer: 'libxl' | 'libxc'): Promise<Rec> {
  return readBody(src, await readRecordHead(src, layer));
}

/** xl's save_file_header and optional data: what create_domain() checks before handing the fd to libxl. */
export async function readXlHeader(src: ByteSource): Promise<XlHeaderInfo> {
  const where = 'xl header';
  const head = await src.read(48, where, 0);
  if (!head.subarray(0, 32).equals(XL_MAGIC)) fail("not an xl save file: no 'Xen saved domain, xl format' magic", where, 0);
  const byteorder = head.readUInt32LE(32);
  if (byteorder !== XL_BYTEORDER) fail(`byte order 0x${byteorder.toString(16)}: saved on a host of the other byte order`, where, 0);
  const mandatory = head.readUInt32LE(36);
  const optional = head.readUInt32LE(40);
  const optionalLength = head.readUInt32LE(44);
  if ((mandatory & ~XL_MANDATORY_FLAG_ALL) !== 0) fail(`unknown mandatory flags 0x${(mandatory & ~XL_MANDATORY_FLAG_ALL).toString(16)}`, where, 0);
  if ((mandatory & XL_MANDATORY_FLAG_STREAMV2) === 0) fail('a legacy (v1) stream, which only Xen before 4.6 wrote', where, 0);
  if (optional !== 0) fail(`unknown optional flags 0x${optional.toString(16)}`, where, 0);
  if (optionalLength > XL_OPTIONAL_MAX) fail(`${optionalLength} bytes of optional data`, where, 0);
  const data = await src.read(optionalLength, where, 0);
  const info = { mandatoryFlags: mandatory, optionalFlags: optional, optionalDataLength: optionalLength };
  if ((mandatory & XL_MANDATORY_FLAG_JSON) === 0) return { ...info, configJson: null };
  if (data.length < 4) fail('the optional data has no config length', where, 0);
  const length = data.readUInt32LE(0);
  if (length < 1 || 4 + length > data.length) fail(`a config of ${length} bytes in ${data.length - 4} bytes of optional data`, where, 0);
  const text = data.subarray(4, 4 + length);
  if (text[length - 1] !== 0) fail('the config is not NUL-terminated', where, 0);
  return { ...info, configJson: text.subarray(0, length - 1).toString('utf8') };
}

async function readLibxlHeader(src: ByteSource): Promise<void> {
  const at = src.offset;
  const where = 'libxl header';
  const head = await src.read(16, where, at);
  if (head.readBigUInt64BE(0) !== LIBXL_IDENT) fail(`not a libxl stream: ident 0x${head.readBigUInt64BE(0).toString(16)}`, where, at);
  const version = head.readUInt32BE(8);
  if (version !== LIBXL_VERSION) fail(`libxl stream version ${version}, not ${LIBXL_VERSION}`, where, at);
  const options = head.readUInt32BE(12);
  if ((options & 1) !== 0) fail('a big-endian stream', where, at);
  if ((options & 2) !== 0) fail('a stream converted from a legacy one', where, at);
  if ((options & ~3) !== 0) fail(`reserved option bits 0x${options.toString(16)} set`, where, at);
}

interface LibxcPart {
  type: SavedDomain['type'] | 'x86 HVM';
  /** The pages so far, in place in the frames the new domain will take. */
  frames: GuestMemory;
  ageNs: number | null;
  sharedInfo: Uint8Array | null;
  vcpus: SavedVcpu[] | null;
  hvmParams: SavedDomain['hvmParams'] | null;
}

const vcpuSchema = z.object({
  id: z.number().int().nonnegative(),
  online: z.boolean(),
  hardAffinity: z.array(z.number().int().nonnegative()).nullable(),
  softAffinity: z.array(z.number().int().nonnegative()).nullable(),
  cpuTimeNs: z.number().nonnegative(),
  pcpu: z.number().int().nonnegative(),
  running: z.boolean(),
  vcpuInfo: z.union([z.object({ kind: z.literal('shared_info'), slot: z.number().int().nonnegative() }), z.object({ kind: z.literal('registered'), gfn: z.number().int(), offset: z.number().int().nonnegative() })]),
});

function vcpusOf(value: unknown, r: Rec): SavedVcpu[] {
  const parsed = z.array(vcpuSchema).safeParse(value);
  if (!parsed.success) fail(`not xenemu's vCPU state (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`, r.name, r.offset);
  return parsed.data;
}

/**
 * What the pages after a VERIFY record found (libxc's verify mode, `xl migrate
 * --debug`): each is compared with the page already received instead of replacing it.
 */
export interface VerifyReport {
  compared: number;
  /** The pfns whose page differed from the one the stream had delivered. */
  differ: number[];
}

/**
 * What a stream's pages may take, decided before any is read, as libxl creates the
 * domain from its config before libxc restores into it (admission.ts makes one).
 */
export interface PageBound {
  /** The domain's frame space: a pfn at or past it is refused (libxc's pfn_is_valid). */
  maxPages: number;
  /** Host memory the frames read into may take (GuestMemory.hostBytes): what the host has free. */
  hostBytes: number;
}

/** No bound but the reader's own: any domain's frame space. */
export const ANY_DOMAIN: PageBound = { maxPages: MAX_FRAMES, hostBytes: Infinity };

/** Reading options: what may follow libxl's END, who hears of a VERIFY pass, and what the pages may take. */
export interface ReadOptions {
  trailing: 'refuse' | 'keep';
  onVerify?: (report: VerifyReport) => void;
  bound?: PageBound;
}

/**
 * A PAGE_DATA record, its pages read straight into their frames in `frames` (no copy
 * of the record first): the count and pfn list are read and checked, then the pages.
 * XTAB and BROKEN drop the frame; XALLOC (a frame with no contents yet) leaves it
 * unbacked too, which reads as zeros as a populated frame nobody wrote does. In
 * verify mode nothing is written: each page is compared with the frame's.
 */
async function readPageData(src: ByteSource, h: RecHead, frames: GuestMemory, verify: VerifyReport | null, bound: PageBound): Promise<void> {
  if (h.length < 8) {
    await readBody(src, h);
    fail('shorter than its count and reserved fields', h.name, h.offset);
  }
  const what = `${h.name} record`;
  const whole = { offset: src.offset, length: h.length };
  const head = await src.read(8, what, h.offset, whole);
  const count = head.readUInt32LE(0);
  if (head.readUInt32LE(4) !== 0) fail('reserved field not zero', h.name, h.offset);
  if (count === 0 || 8 + count * 8 > h.length) fail(`${count} pfns do not fit in ${h.length} bytes`, h.name, h.offset);
  const words = await src.read(count * 8, what, h.offset, whole);
  let at = 8 + count * 8;
  // Each pfn, and whether a page of data comes for it (typed: a record may hold millions).
  const pfns = new Uint32Array(count);
  const withData = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const word = words.readBigUInt64LE(i * 8);
    const pfn = Number(word & PFN_MASK);
    const type = Number(word >> PFN_TYPE_SHIFT);
    if (((word >> 52n) & 0xffn) !== 0n) fail(`reserved bits set in pfn[${i}]`, h.name, h.offset);
    if (!PFINFO_TYPES_WITH_DATA.has(type) && type < 0xd) fail(`pfn[${i}] has invalid type ${type}`, h.name, h.offset);
    // xg_sr_restore.c process_page_data's words, and the frame space the domain was given.
    if (pfn >= bound.maxPages) fail(`pfn 0x${pfn.toString(16)} (index ${i}) outside domain maximum (${bound.maxPages} frames)`, h.name, h.offset);
    const data = PFINFO_TYPES_WITH_DATA.has(type);
    if (data) {
      if (at + XEN_PAGE_SIZE > h.length) fail(`pfn[${i}]'s page lies past the record's end`, h.name, h.offset);
      at += XEN_PAGE_SIZE;
    }
    pfns[i] = pfn;
    withData[i] = data ? 1 : 0;
  }
  if (at !== h.length) fail(`${h.length - at} bytes after the last page`, h.name, h.offset);
  // 8 + 8n + 4096m is a multiple of 8: there is no padding.
  if (verify !== null) {
    // xg_sr_restore.c process_page_data in verify mode: memcmp, and report, never write.
    const pages = await src.read(h.length - 8 - count * 8, what, h.offset, whole);
    let p = 0;
    for (let i = 0; i < count; i++) {
      const pfn = pfns[i]!;
      verify.compared++;
      const have = frames.backedPage(pfn);
      const page = withData[i] === 1 ? pages.subarray(p * XEN_PAGE_SIZE, ++p * XEN_PAGE_SIZE) : null;
      // A frame never sent reads as zeros, as a populated page nobody wrote does.
      const zero = (x: Uint8Array): boolean => x.every((b) => b === 0);
      const same = page === null ? have === null || zero(have) : have === null ? zero(page) : Buffer.from(have.buffer, have.byteOffset, have.length).equals(page);
      if (!same) verify.differ.push(pfn);
    }
    return;
  }
  // In order: a frame dropped after its page came in the same record is dropped, and the
  // other way round. Pages of consecutive frames in one chunk are one piece of the read;
  // at most a batch of them is backed before its bytes are there.
  let views: Uint8Array[] = [];
  const flush = async (): Promise<void> => {
    if (views.length > 0) await src.readInto(joined(views), what, h.offset, whole);
    views = [];
  };
  for (let i = 0; i < count; i++) {
    const pfn = pfns[i]!;
    if (withData[i] === 0) {
      await flush();
      frames.release([pfn]);
      continue;
    }
    // Not zeroed first: the read fills it, or fails and the frames are dropped.
    views.push(frames.page(pfn, { overwrite: true }));
    // Scattered frames take a chunk each: the host's memory, not the record, is the limit.
    if (frames.hostBytes > bound.hostBytes) {
      fail(`pfn 0x${pfn.toString(16)} (index ${i}): the frames read take ${mib(frames.hostBytes)} MiB of host memory, more than the ${mib(bound.hostBytes)} MiB free`, h.name, h.offset);
    }
    if (views.length >= PAGES_AHEAD) await flush();
  }
  await flush();
}

const mib = (bytes: number): number => Math.ceil(bytes / (1 << 20));

async function readLibxc(src: ByteSource, options: ReadOptions): Promise<LibxcPart> {
  const bound = options.bound ?? ANY_DOMAIN;
  const at = src.offset;
  const ihdr = await src.read(24, 'libxc image header', at);
  if (ihdr.readBigUInt64BE(0) !== LIBXC_MARKER) fail('no image marker', 'libxc image header', at);
  if (ihdr.readUInt32BE(8) !== LIBXC_IDENT) fail(`not a libxc image: id 0x${ihdr.readUInt32BE(8).toString(16)}`, 'libxc image header', at);
  const version = ihdr.readUInt32BE(12);
  if (version < 2 || version > 3) fail(`libxc stream version ${version}, not 2 or 3`, 'libxc image header', at);
  if ((ihdr.readUInt16BE(16) & 1) !== 0) fail('a big-endian stream', 'libxc image header', at);
  const dat = src.offset;
  const dhdr = await src.read(16, 'libxc domain header', dat);
  const gtype = dhdr.readUInt32LE(0);
  if (gtype !== DHDR_TYPE_X86_PV && gtype !== DHDR_TYPE_X86_HVM) fail(`domain type ${gtype} is neither x86 PV nor x86 HVM`, 'libxc domain header', dat);
  if (dhdr.readUInt16LE(4) !== XEN_PAGE_SHIFT) fail(`page shift ${dhdr.readUInt16LE(4)}, not ${XEN_PAGE_SHIFT}`, 'libxc domain header', dat);
  const pv = gtype === DHDR_TYPE_X86_PV;
  const part: LibxcPart = { type: pv ? 'pv' : 'x86 HVM', frames: GuestMemory.reading(bound.maxPages), ageNs: null, sharedInfo: null, vcpus: null, hvmParams: null };
  const pvVcpus: SavedVcpu[] = [];
  let staticEnd = version < 3;
  let verify: VerifyReport | null = null;
  for (;;) {
    const h = await readRecordHead(src, 'libxc');
    if (h.type === LIBXC_REC.PAGE_DATA) {
      if (!staticEnd) fail('page data before STATIC_DATA_END', h.name, h.offset);
      await readPageData(src, h, part.frames, verify, bound);
      continue;
    }
    const r = await readBody(src, h);
    const onlyFor = (wantPv: boolean): void => {
      if (wantPv !== pv) fail(`a record of ${wantPv ? 'PV' : 'HVM'} domains in an ${pv ? 'x86 PV' : 'x86 HVM'} stream`, r.name, r.offset);
    };
    const before = (): void => {
      if (staticEnd) fail('static data after STATIC_DATA_END', r.name, r.offset);
    };
    switch (r.type) {
      case LIBXC_REC.END:
        if (r.body.length !== 0) fail('END with a body', r.name, r.offset);
        if (!staticEnd) fail('no STATIC_DATA_END before the end', r.name, r.offset);
        if (part.sharedInfo === null) fail('the stream ends without SHARED_INFO', r.name, r.offset);
        if (verify !== null) options.onVerify?.(verify);
        if (part.ageNs === null) fail('the stream ends without X86_TSC_INFO', r.name, r.offset);
        if (pv) {
          if (pvVcpus.length === 0) fail('the stream ends without X86_PV_VCPU_BASIC', r.name, r.offset);
          part.vcpus = pvVcpus;
        } else {
          if (part.vcpus === null) fail('the stream ends without HVM_CONTEXT', r.name, r.offset);
          if (part.hvmParams === null) fail('the stream ends without HVM_PARAMS', r.name, r.offset);
        }
        return part;
      case LIBXC_REC.VERIFY:
        if (r.body.length !== 0) fail('VERIFY with a body', r.name, r.offset);
        verify ??= { compared: 0, differ: [] };
        break;
      case LIBXC_REC.X86_PV_INFO:
        onlyFor(true);
        before();
        if (r.body.length !== 8 || r.body[0] !== 8 || r.body[1] !== 4) fail('not a 64-bit guest with 4 levels of page tables', r.name, r.offset);
        break;
      case LIBXC_REC.X86_PV_P2M_FRAMES:
        onlyFor(true);
        before();
        if (r.body.length < 8 || r.body.length % 8 !== 0) fail(`length ${r.body.length} is not 8 and a multiple of 8`, r.name, r.offset);
        break;
      case LIBXC_REC.X86_CPUID_POLICY:
      case LIBXC_REC.X86_MSR_POLICY:
        before();
        break;
      case LIBXC_REC.STATIC_DATA_END:
        before();
        if (r.body.length !== 0) fail('STATIC_DATA_END with a body', r.name, r.offset);
        staticEnd = true;
        break;
      case LIBXC_REC.X86_TSC_INFO:
        if (r.body.length !== 24) fail(`length ${r.body.length}, not 24`, r.name, r.offset);
        part.ageNs = Number(r.body.readBigUInt64LE(8));
        break;
      case LIBXC_REC.SHARED_INFO:
        if (r.body.length !== XEN_PAGE_SIZE) fail(`length ${r.body.length}, not ${XEN_PAGE_SIZE}`, r.name, r.offset);
        part.sharedInfo = Uint8Array.from(r.body);
        break;
      case LIBXC_REC.X86_PV_VCPU_BASIC: {
        onlyFor(true);
        if (r.body.length < 8) fail('shorter than its vcpu_id and reserved fields', r.name, r.offset);
        const id = r.body.readUInt32LE(0);
        // xg_sr_restore_x86_pv.c's words; no domain has more vCPUs than a config may ask for.
        if (id >= MAX_VCPUS) fail(`record vcpu_id (${id}) exceeds domain max (${MAX_VCPUS - 1})`, r.name, r.offset);
        if (id !== pvVcpus.length) fail(`vCPU ${id} where vCPU ${pvVcpus.length} comes next`, r.name, r.offset);
        const [v] = vcpusOf([decodeStateBlob(r.body.subarray(8), { record: r.name, offset: r.offset })], r);
        if (v!.id !== id) fail(`the context of vCPU ${v!.id} in vCPU ${id}'s record`, r.name, r.offset);
        pvVcpus.push(v!);
        break;
      }
      case LIBXC_REC.X86_PV_VCPU_EXTENDED:
      case LIBXC_REC.X86_PV_VCPU_XSAVE:
      case LIBXC_REC.X86_PV_VCPU_MSRS:
        onlyFor(true);
        fail('xenemu keeps no such vCPU state (a stream from a real Xen?)', r.name, r.offset);
        break;
      case LIBXC_REC.HVM_CONTEXT: {
        onlyFor(false);
        const vcpus = vcpusOf(decodeStateBlob(r.body, { record: r.name, offset: r.offset }), r);
        if (vcpus.some((v, i) => v.id !== i)) fail('the vCPUs are not numbered 0..n-1 in order', r.name, r.offset);
        if (vcpus.length > MAX_VCPUS) fail(`${vcpus.length} vCPUs, more than the ${MAX_VCPUS} a domain may have`, r.name, r.offset);
        part.vcpus = vcpus;
        break;
      }
      case LIBXC_REC.HVM_PARAMS: {
        onlyFor(false);
        if (r.body.length < 8) fail('shorter than its count and reserved fields', r.name, r.offset);
        const count = r.body.readUInt32LE(0);
        if (r.body.length !== 8 + count * 16) fail(`${count} params in ${r.body.length} bytes`, r.name, r.offset);
        part.hvmParams = Array.from({ length: count }, (_, i) => ({ index: Number(r.body.readBigUInt64LE(8 + i * 16)), value: r.body.readBigUInt64LE(16 + i * 16).toString() }));
        break;
      }
      default:
        // Optional records (bit 31) may be skipped (libxc-migration-stream: "Reserved for future optional records").
        if (r.type >= 0x80000000) break;
        fail(`record type 0x${r.type.toString(16)} is not one xenemu reads`, r.name, r.offset);
    }
  }
}

const contextSchema = z.object({
  record: z.object({ domid: z.number().int().nonnegative(), uuid: z.string(), name: z.string(), config: z.object({}).passthrough() }).passthrough(),
  domain: z
    .object({
      domid: z.number().int().nonnegative(),
      name: z.string(),
      uuid: z.string(),
      type: z.enum(['pv', 'pvh', 'hvm']),
      memory: z.object({ maxPages: z.number().int().nonnegative().max(MAX_FRAMES), reservation: z.number().int().nonnegative() }),
      hvmParams: z.array(z.object({ index: z.number().int().nonnegative(), value: z.string().regex(/^\d+$/) })).optional(),
    })
    .passthrough(),
  kernel: z.object({ state: z.enum(['running', 'halted', 'suspended']) }).passthrough(),
  xenstore: z.array(z.object({ path: z.string().regex(/^(?:[A-Za-z0-9\-_@]+(?:\/[A-Za-z0-9\-_@]+)*)?$/), value: z.instanceof(Uint8Array), perms: z.array(z.string()) })),
});

function emulatorHeader(r: Rec): void {
  if (r.body.length < 8) fail('shorter than its emulator_id and index', r.name, r.offset);
  const id = r.body.readUInt32LE(0);
  if (id !== EMULATOR_ID_UNKNOWN) fail(`emulator ${id} (${id === 1 ? 'QEMU traditional' : id === 2 ? 'QEMU upstream' : 'unknown'}): not xenemu's device-model state`, r.name, r.offset);
  if (r.body.readUInt32LE(4) !== 0) fail(`emulator index ${r.body.readUInt32LE(4)}; xenemu has one`, r.name, r.offset);
}

/**
 * The libxl stream after xl's header, and the libxc stream in it, up to libxl's END.
 * With `trailing` 'refuse' (a file) anything after END is an error; with 'keep' (a
 * pipe), it stays in `src` for the caller.
 */
export async function readLibxlStream(src: ByteSource, options: ReadOptions = { trailing: 'refuse' }): Promise<DomainImage> {
  await readLibxlHeader(src);
  let libxc: LibxcPart | null = null;
  let context: EmulatorContext | null = null;
  let contextAt = 0;
  for (;;) {
    const r = await readRecord(src, 'libxl');
    switch (r.type) {
      case LIBXL_REC.LIBXC_CONTEXT:
        if (libxc !== null) fail('a second libxc stream', r.name, r.offset);
        if (r.body.length !== 0) fail('LIBXC_CONTEXT with a body', r.name, r.offset);
        libxc = await readLibxc(src, options);
        break;
      case LIBXL_REC.EMULATOR_XENSTORE_DATA:
        // Keys under the device model's own path: xenemu's has none (see stream-writer.ts).
        emulatorHeader(r);
        if (r.body.length > 8) fail("keys under a device model's XenStore path, which xenemu's has none of", r.name, r.offset);
        break;
      case LIBXL_REC.EMULATOR_CONTEXT: {
        emulatorHeader(r);
        if (context !== null) fail('a second EMULATOR_CONTEXT', r.name, r.offset);
        const parsed = contextSchema.safeParse(decodeStateBlob(r.body.subarray(8), { record: r.name, offset: r.offset }));
        if (!parsed.success) fail(`not xenemu's device-model state (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`, r.name, r.offset);
        context = parsed.data as unknown as EmulatorContext;
        contextAt = r.offset;
        break;
      }
      case LIBXL_REC.END: {
        if (r.body.length !== 0) fail('END with a body', r.name, r.offset);
        if (libxc === null) fail('the stream ends without a libxc stream (LIBXC_CONTEXT)', r.name, r.offset);
        if (context === null) fail('the stream ends without EMULATOR_CONTEXT (device-model state)', r.name, r.offset);
        if (options.trailing === 'refuse' && !(await src.atEnd())) fail('bytes follow the stream\'s END', 'END', r.offset);
        return assemble(libxc, context, contextAt);
      }
      case LIBXL_REC.CHECKPOINT_END:
      case LIBXL_REC.CHECKPOINT_STATE:
        fail('a checkpointed (Remus/COLO) stream, which xenemu does not read', r.name, r.offset);
        break;
      default:
        if (r.type >= 0x80000000) break;
        fail(`record type 0x${r.type.toString(16)} is not one xenemu reads`, r.name, r.offset);
    }
  }
}

function assemble(libxc: LibxcPart, context: EmulatorContext, at: number): DomainImage {
  const where = 'EMULATOR_CONTEXT';
  const d = context.domain;
  if ((d.type === 'pv') !== (libxc.type === 'pv')) fail(`a ${d.type} domain's state with an ${libxc.type === 'pv' ? 'x86 PV' : 'x86 HVM'} libxc stream`, where, at);
  const { frames } = libxc;
  const pfns = frames.backedFrames();
  if (pfns.length > 0 && pfns[pfns.length - 1]! >= d.memory.maxPages) fail(`page data for pfn ${pfns[pfns.length - 1]} of a domain of ${d.memory.maxPages} frames`, where, at);
  if (d.memory.reservation > d.memory.maxPages) fail(`a reservation of ${d.memory.reservation} frames in a domain of ${d.memory.maxPages}`, where, at);
  const { hvmParams: pvParams, memory, ...rest } = d;
  const hypervisor: SavedDomain = {
    ...(rest as Omit<SavedDomain, 'memory' | 'sharedInfo' | 'vcpus' | 'ageNs' | 'hvmParams'>),
    memory: { maxPages: memory.maxPages, reservation: memory.reservation, pfns, pages: pfns.map((p) => frames.backedPage(p)!), frames: new ReadFrames(frames) },
    sharedInfo: libxc.sharedInfo!,
    vcpus: libxc.vcpus!,
    ageNs: libxc.ageNs!,
    hvmParams: libxc.type === 'pv' ? (pvParams ?? []) : libxc.hvmParams!,
  };
  return { record: context.record, hypervisor, kernel: context.kernel, xenstore: context.xenstore };
}

/** A whole save stream: xl's header, then the libxl stream. */
export async function readSaveStream(src: ByteSource, options: ReadOptions = { trailing: 'refuse' }): Promise<ReadSaveStream> {
  const header = await readXlHeader(src);
  return { header, configJson: header.configJson, image: await readLibxlStream(src, options) };
}
