/**
 * xenemu's own state in a stream record: JSON for the shape, binary for the bulk.
 * The saved shapes are plain JSON-able data (src/kernel/saved.ts, SavedDomain) with a
 * few bulky parts: pages (Uint8Array: grant frames, a vCPU's registered page) and long
 * integer lists (the grant-reference allocator's links, the page allocator's freed
 * frames). As JSON text those would cost 2-7 bytes an element and a base64 pass, so
 * they go after the JSON as raw little-endian arrays, and the JSON names them:
 *
 *     u32 json_length | u32 version (1) | json (UTF-8) | zero pad to 8 | binary part
 *
 * In the JSON, `{"$u8":[offset,length]}` is a Uint8Array and `{"$i32":[offset,count]}`
 * an array of numbers, both pointing into the binary part (offsets from its start,
 * i32 ones 4-aligned). No saved shape has keys starting with "$".
 */

import { SaveFileError } from './errors.js';
import { padded } from './stream-format.js';

const BLOB_VERSION = 1;
/** Integer lists at least this long go to the binary part; shorter ones read better as JSON. */
const BINARY_LIST_MIN = 32;
/**
 * The most JSON a blob may hold. A domain's is some 34 KB; the largest state we write
 * (a XenStore home at xenstored's default quota with long paths, a full kernel log) a
 * few MB. JSON.parse builds up to ~30 times its text in objects (8 MiB of "{}," is
 * 250 MB; the 128 MiB a record may hold, 3.6 GB), so an untrusted blob is held to this.
 */
export const STATE_JSON_MAX = 8 << 20;

function isInt32List(v: unknown): v is number[] {
  return Array.isArray(v) && v.length >= BINARY_LIST_MIN && v.every((x) => Number.isInteger(x) && x >= -0x80000000 && x <= 0x7fffffff);
}

export function encodeStateBlob(value: unknown): Buffer {
  const parts: Uint8Array[] = [];
  let size = 0;
  const put = (bytes: Uint8Array, align: number): number => {
    const pad = (align - (size % align)) % align;
    if (pad > 0) {
      parts.push(new Uint8Array(pad));
      size += pad;
    }
    const at = size;
    parts.push(bytes);
    size += bytes.length;
    return at;
  };
  // The holder's own value, not `v`: a Buffer's toJSON has already run on `v`.
  const json = JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
    const own = this[key];
    if (own instanceof Uint8Array) return { $u8: [put(own, 1), own.length] };
    if (v instanceof Uint8Array) return { $u8: [put(v, 1), v.length] };
    if (isInt32List(v)) return { $i32: [put(new Uint8Array(Int32Array.from(v).buffer), 4), v.length] };
    return v;
  });
  const text = Buffer.from(json, 'utf8');
  const head = Buffer.alloc(8);
  head.writeUInt32LE(text.length, 0);
  head.writeUInt32LE(BLOB_VERSION, 4);
  return Buffer.concat([head, text, Buffer.alloc(padded(text.length) - text.length), ...parts]);
}

/** Where a blob sits, for errors: the record that holds it and that record's offset. */
export interface BlobPlace {
  record: string;
  offset: number;
}

export function decodeStateBlob(blob: Uint8Array, where: BlobPlace): unknown {
  const fail = (what: string): never => {
    throw new SaveFileError(`${where.record} record at offset ${where.offset}: ${what}`, where.record, where.offset);
  };
  if (blob.length < 8) fail(`the state is ${blob.length} bytes, less than its 8-byte header`);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const jsonLength = view.getUint32(0, true);
  const version = view.getUint32(4, true);
  if (version !== BLOB_VERSION) fail(`state version ${version}, not ${BLOB_VERSION}`);
  if (jsonLength > STATE_JSON_MAX) fail(`the state's JSON is ${jsonLength} bytes, more than the ${STATE_JSON_MAX} any state of xenemu's holds`);
  if (8 + padded(jsonLength) > blob.length) fail(`the state's JSON (${jsonLength} bytes) runs past the record's end`);
  const binary = blob.subarray(8 + padded(jsonLength));
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(blob.subarray(8, 8 + jsonLength));
  } catch {
    return fail('the state\'s JSON is not UTF-8');
  }
  // Each reference is decoded into its own copy: the encoder names every byte once, and
  // a blob naming its bytes more often (a few JSON bytes a reference) would make a small
  // record decode into any amount of memory.
  let referenced = 0;
  const span = (ref: unknown, unit: number): [number, number] => {
    if (!Array.isArray(ref) || ref.length !== 2 || !ref.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) return fail('a binary reference is not [offset, length]');
    const [at, count] = ref as [number, number];
    if (at % unit !== 0 || at + count * unit > binary.length) return fail(`a binary reference [${at}, ${count}] lies outside the ${binary.length}-byte binary part`);
    referenced += count * unit;
    if (referenced > binary.length) return fail(`the binary references name ${referenced} bytes, more than the ${binary.length}-byte binary part holds: they overlap`);
    return [at, count];
  };
  try {
    return JSON.parse(text, (_key, v: unknown) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
      const keys = Object.keys(v);
      if (keys.length !== 1) return v;
      const o = v as Record<string, unknown>;
      if (keys[0] === '$u8') {
        const [at, n] = span(o.$u8, 1);
        return new Uint8Array(binary.subarray(at, at + n));
      }
      if (keys[0] === '$i32') {
        const [at, n] = span(o.$i32, 4);
        const out = new Array<number>(n);
        const dv = new DataView(binary.buffer, binary.byteOffset + at, n * 4);
        for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true);
        return out;
      }
      return v;
    });
  } catch (err) {
    if (err instanceof SaveFileError) throw err;
    return fail(`the state's JSON does not parse (${(err as Error).message})`);
  }
}
