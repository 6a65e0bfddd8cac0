/**
 * Crafting save files and migration streams from a valid one (stream-format.ts has
 * the layouts): where its records are, its xl header's config swapped, records put in;
 * and watching the memory a read of one takes.
 */
import { GuestMemory } from '../../src/hypervisor/memory.js';

/**
 * From now on, every memory a reader reads pages into (GuestMemory.reading) is kept in
 * the array returned, whatever the read's outcome: the host memory a read took. The
 * caller empties it between reads.
 */
export function watchReadMemories(): GuestMemory[] {
  const readInto: GuestMemory[] = [];
  const reading = GuestMemory.reading.bind(GuestMemory);
  GuestMemory.reading = (...args: Parameters<typeof GuestMemory.reading>) => {
    const m = reading(...args);
    readInto.push(m);
    return m;
  };
  return readInto;
}

export interface RecordAt {
  layer: 'libxl' | 'libxc';
  type: number;
  /** Where its header starts. */
  offset: number;
  length: number;
}

/** The records of a valid stream, in order, libxl's and the libxc ones inside LIBXC_CONTEXT. */
export function records(b: Buffer): RecordAt[] {
  const out: RecordAt[] = [];
  let at = 48 + b.readUInt32LE(44) + 16;
  let layer: RecordAt['layer'] = 'libxl';
  for (;;) {
    const type = b.readUInt32LE(at);
    const length = b.readUInt32LE(at + 4);
    out.push({ layer, type, offset: at, length });
    at += 8 + ((length + 7) & ~7);
    if (layer === 'libxl' && type === 1) {
      layer = 'libxc';
      at += 24 + 16;
    } else if (type === 0) {
      if (layer === 'libxl') return out;
      layer = 'libxl';
    }
  }
}

/** The first record of `layer` and `type`. */
export function recordOf(b: Buffer, layer: RecordAt['layer'], type: number, nth = 0): RecordAt {
  const r = records(b).filter((x) => x.layer === layer && x.type === type)[nth];
  if (r === undefined) throw new Error(`no ${layer} record ${type} #${nth}`);
  return r;
}

/** The stream with xl's header carrying `json` as its config instead. */
export function withConfigJson(b: Buffer, json: string): Buffer {
  const config = Buffer.from(`${json}\0`, 'utf8');
  const head = Buffer.from(b.subarray(0, 48));
  head.writeUInt32LE(head.readUInt32LE(36) | 1, 36);
  head.writeUInt32LE(4 + config.length, 44);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(config.length);
  return Buffer.concat([head, length, config, b.subarray(48 + b.readUInt32LE(44))]);
}

/** `bytes` put in at `offset`. */
export function inserted(b: Buffer, offset: number, bytes: Buffer): Buffer {
  return Buffer.concat([b.subarray(0, offset), bytes, b.subarray(offset)]);
}

/** A PAGE_DATA record of normal pages (type NOTAB) for `pfns`, each page filled with its index's low byte. */
export function pageData(pfns: readonly number[]): Buffer {
  const n = pfns.length;
  const body = 8 + 8 * n + 4096 * n;
  const r = Buffer.alloc(8 + body);
  r.writeUInt32LE(1, 0);
  r.writeUInt32LE(body, 4);
  r.writeUInt32LE(n, 8);
  pfns.forEach((pfn, i) => {
    r.writeBigUInt64LE(BigInt(pfn), 16 + 8 * i);
    r.fill(i & 0xff, 16 + 8 * n + 4096 * i, 16 + 8 * n + 4096 * (i + 1));
  });
  return r;
}
