/**
 * Writes a DomainImage as `xl save` does: xl's header with the domain config, then the
 * libxl migration stream v2 carrying the libxc stream (stream-format.ts has the
 * layouts). Written record by record into a sink, never as one buffer: a 512 MiB
 * guest's pages go out 4 MiB at a time.
 *
 * What goes where (for a PV domain; an HVM or PVH one differs where noted):
 *
 *     xl header            magic, flags STREAMv2|JSON, the libxl_domain_config JSON
 *     libxl header         "LibxlFmt" v2, little-endian
 *     LIBXC_CONTEXT        (empty; the libxc stream follows)
 *       image header       "XENF" v3;  domain header: x86 PV (HVM: x86 HVM, PVH too)
 *       X86_PV_INFO        64-bit, 4 levels                       (PV only)
 *       X86_PV_P2M_FRAMES  pfn 0 .. max-1, no frames: the emulated p2m is the identity  (PV only)
 *       STATIC_DATA_END
 *       PAGE_DATA ...      every page that exists, 1024 a record, pfn-sorted (sparse)
 *       X86_TSC_INFO       the domain's age as the elapsed ns, 1 GHz
 *       SHARED_INFO        Xen's shared_info page (pending and mask bits included)
 *       HVM_PARAMS         the params Xen holds for it             (HVM and PVH)
 *       X86_PV_VCPU_BASIC  per vCPU: xenemu's vCPU state (online, running, affinity,
 *                          time, vcpu_info place) in the state-blob encoding
 *                          (HVM and PVH: all vCPUs in one HVM_CONTEXT instead)
 *       END
 *     EMULATOR_CONTEXT     emulator "unknown" (0): the device-model state, a state blob
 *                          of {record, domain, kernel, xenstore}: the toolstack's record
 *                          (config and changes), the hypervisor's state the libxc records
 *                          do not carry (accounting, pause, shutdown, event channels,
 *                          grant table, timers), the emulated kernel's KernelState, and
 *                          the domain's XenStore home (paths, values, permissions)
 *     END
 *
 * No EMULATOR_XENSTORE_DATA: that record holds the keys under the device model's own
 * path (/local/domain/0/device-model/<domid>/), which xenemu's kernel has none of, and
 * libxl writes none then. The domain's home is not that; it goes in the emulator
 * context, values as bytes (a XenStore value may hold a NUL, which the record's
 * NUL-separated pairs cannot) with their permissions. (Xen 4.17's verify-stream-v2 under
 * Python 3 also refuses every non-empty EMULATOR_XENSTORE_DATA: it compares a byte, an
 * int there, with the string '\x00'.)
 *
 * The libxc records stand for what Xen would save; their contents are xenemu's, not
 * Xen's binary structures (there is no vcpu_guest_context to save), which the stream
 * allows: libxc hands those blobs to the hypervisor unread.
 *
 * For live migration (h/migrate): the pre-copy rounds are PAGE_DATA records between
 * `begin` and `finish`, and a pipe is as good a sink as a file:
 *
 *     const w = new SaveStreamWriter(writableSink(socket));   // sinks.ts
 *     await w.xlHeader(configJson);              // xl migrate sends the same header
 *     await w.begin(type, maxPages);
 *     await w.pages(allPfns, pageOf);            // round 1, guest running
 *     await w.pages(dirtyPfns, pageOf);          // rounds 2..n: what changed since
 *     ...suspend the domain...
 *     await w.pages(lastDirty, pageOf);          // the final round
 *     await w.finish(image, { pages: 'sent' });  // vCPUs, shared_info, XenStore, kernel
 *
 * The pages go to the sink as views, not copies: a running guest's page that changes
 * while a socket still holds it is dirty, so a later round sends it again, and the last
 * round runs with the guest suspended.
 *
 * `pageOf` returns null for a frame the guest gave up since an earlier round: it goes
 * as XTAB, and the reader drops the frame. A later round's page replaces an earlier
 * one's. `finish` with pages 'sent' leaves image.hypervisor.memory's pages out (they
 * went in the rounds) but still states maxPages and reservation.
 */

import { XEN_PAGE_SHIFT, XEN_PAGE_SIZE } from '../../abi/layout.js';
import type { SavedDomain, SavedVcpu } from '../../hypervisor/domain.js';
import type { DomainImage } from './image.js';
import { encodeStateBlob } from './state-blob.js';
import {
  DHDR_TYPE_X86_HVM,
  DHDR_TYPE_X86_PV,
  EMULATOR_ID_UNKNOWN,
  LIBXC_IDENT,
  LIBXC_MARKER,
  LIBXC_REC,
  LIBXC_VERSION,
  LIBXL_IDENT,
  LIBXL_REC,
  LIBXL_VERSION,
  PAGE_DATA_MAX_BATCH,
  PFINFO_XTAB,
  TSC_KHZ,
  XL_BYTEORDER,
  XL_MAGIC,
  XL_MANDATORY_FLAG_JSON,
  XL_MANDATORY_FLAG_STREAMV2,
  padded,
  type XlHeaderInfo,
} from './stream-format.js';

/**
 * Where the bytes go: a file, a pipe. Each call is one record (or header) in pieces,
 * to be written in order as one (writev, or a corked socket). The pieces may be views
 * of the image's pages, not copies: a sink must not keep them past its promise, which
 * may hold the writer back (backpressure).
 */
export type ChunkSink = (pieces: readonly Uint8Array[]) => void | Promise<void>;

/** What the hypervisor part of the emulator context keeps: SavedDomain less what the libxc records carry. */
export type DomainRest = Omit<SavedDomain, 'memory' | 'sharedInfo' | 'vcpus' | 'ageNs' | 'hvmParams'> & {
  memory: { maxPages: number; reservation: number };
  /** A PV domain's HVM params (no HVM_PARAMS record in a PV stream); absent for HVM and PVH. */
  hvmParams?: SavedDomain['hvmParams'];
};

/** The EMULATOR_CONTEXT state blob's shape. */
export interface EmulatorContext {
  record: DomainImage['record'];
  domain: DomainRest;
  kernel: DomainImage['kernel'];
  xenstore: DomainImage['xenstore'];
}

/** Xen's version the domain header states (the emulated hypervisor's). */
const XEN_MAJOR = 4;
const XEN_MINOR = 17;

type Phase = 'start' | 'header' | 'pages' | 'done';

function record(type: number, body: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + padded(body.length));
  out.writeUInt32LE(type, 0);
  out.writeUInt32LE(body.length, 4);
  out.set(body, 8);
  return out;
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32LE(v, i * 4));
  return b;
}

export class SaveStreamWriter {
  private phase: Phase = 'start';
  private type: SavedDomain['type'] = 'pv';
  /** Bytes written so far. */
  bytes = 0;
  /** Pages sent in PAGE_DATA records so far (XTAB entries not counted). */
  pagesSent = 0;

  constructor(private readonly sink: ChunkSink) {}

  private async put(pieces: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const list = pieces instanceof Uint8Array ? [pieces] : pieces;
    for (const p of list) this.bytes += p.length;
    await this.sink(list);
  }

  private step(from: Phase | Phase[], to: Phase, what: string): void {
    const ok = Array.isArray(from) ? from.includes(this.phase) : from === this.phase;
    if (!ok) throw new Error(`save stream: ${what} cannot come when the stream is at '${this.phase}'`);
    this.phase = to;
  }

  /** xl's save_file_header and its optional data: the config (JSON, NUL-terminated), or none. Returns the flags and length xl reports. */
  async xlHeader(configJson: string | null): Promise<Omit<XlHeaderInfo, 'configJson'>> {
    this.step('start', 'start', 'the xl header');
    const config = configJson === null ? Buffer.alloc(0) : Buffer.from(`${configJson}\0`, 'utf8');
    const head = Buffer.alloc(48);
    XL_MAGIC.copy(head, 0);
    head.writeUInt32LE(XL_BYTEORDER, 32);
    const info = { mandatoryFlags: XL_MANDATORY_FLAG_STREAMV2 | (config.length > 0 ? XL_MANDATORY_FLAG_JSON : 0), optionalFlags: 0, optionalDataLength: 4 + config.length };
    head.writeUInt32LE(info.mandatoryFlags, 36);
    head.writeUInt32LE(info.optionalFlags, 40);
    head.writeUInt32LE(info.optionalDataLength, 44);
    await this.put(Buffer.concat([head, u32s(config.length), config]));
    return info;
  }

  /** The libxl header, LIBXC_CONTEXT, the libxc image and domain headers and the static records. */
  async begin(type: SavedDomain['type'], maxPages: number): Promise<void> {
    this.step('start', 'header', 'the stream headers');
    this.type = type;
    const libxl = Buffer.alloc(16);
    libxl.writeBigUInt64BE(LIBXL_IDENT, 0);
    libxl.writeUInt32BE(LIBXL_VERSION, 8);
    libxl.writeUInt32BE(0, 12);
    const ihdr = Buffer.alloc(24);
    ihdr.writeBigUInt64BE(LIBXC_MARKER, 0);
    ihdr.writeUInt32BE(LIBXC_IDENT, 8);
    ihdr.writeUInt32BE(LIBXC_VERSION, 12);
    const dhdr = Buffer.alloc(16);
    dhdr.writeUInt32LE(type === 'pv' ? DHDR_TYPE_X86_PV : DHDR_TYPE_X86_HVM, 0);
    dhdr.writeUInt16LE(XEN_PAGE_SHIFT, 4);
    dhdr.writeUInt32LE(XEN_MAJOR, 8);
    dhdr.writeUInt32LE(XEN_MINOR, 12);
    const parts = [libxl, record(LIBXL_REC.LIBXC_CONTEXT, Buffer.alloc(0)), ihdr, dhdr];
    if (type === 'pv') {
      parts.push(record(LIBXC_REC.X86_PV_INFO, Buffer.from([8, 4, 0, 0, 0, 0, 0, 0])));
      parts.push(record(LIBXC_REC.X86_PV_P2M_FRAMES, u32s(0, Math.max(0, maxPages - 1))));
    }
    parts.push(record(LIBXC_REC.STATIC_DATA_END, Buffer.alloc(0)));
    await this.put(Buffer.concat(parts));
  }

  /**
   * libxc's VERIFY record (verify_frames, `xl migrate --debug`): the pages that follow
   * are compared by the receiver with what it has, not written.
   */
  async verify(): Promise<void> {
    this.step(['header', 'pages'], 'pages', 'VERIFY');
    await this.put(record(LIBXC_REC.VERIFY, Buffer.alloc(0)));
  }

  /**
   * One round of pages: PAGE_DATA records of up to 1024 pfns; a null page goes as XTAB
   * (the frame is gone). The pages themselves are not copied: each record goes to the
   * sink as its header and pfn list followed by the page views `pageOf` returned.
   */
  async pages(pfns: readonly number[], pageOf: (pfn: number, index: number) => Uint8Array | null): Promise<void> {
    this.step(['header', 'pages'], 'pages', 'page data');
    // Each record is made while the one before is being written: the writes go back to back.
    let writing: Promise<void> | null = null;
    try {
      for (let i = 0; i < pfns.length; i += PAGE_DATA_MAX_BATCH) {
        const batch = pfns.slice(i, i + PAGE_DATA_MAX_BATCH);
        const head = Buffer.alloc(16 + batch.length * 8);
        const pieces: Uint8Array[] = [head];
        batch.forEach((pfn, j) => {
          const page = pageOf(pfn, i + j);
          // The pfn in 64 bits, with XTAB's type in the top nibble for a frame that is gone.
          head.writeUInt32LE(pfn % 0x1_0000_0000, 16 + j * 8);
          head.writeUInt32LE(Math.floor(pfn / 0x1_0000_0000) + (page === null ? PFINFO_XTAB * 0x1000_0000 : 0), 20 + j * 8);
          if (page === null) return;
          if (page.length !== XEN_PAGE_SIZE) throw new Error(`save stream: the page of pfn ${pfn} is ${page.length} bytes, not ${XEN_PAGE_SIZE}`);
          pieces.push(page);
        });
        const withData = pieces.length - 1;
        head.writeUInt32LE(LIBXC_REC.PAGE_DATA, 0);
        // 8 + 8n + 4096m is a multiple of 8: no padding.
        head.writeUInt32LE(8 + batch.length * 8 + withData * XEN_PAGE_SIZE, 4);
        head.writeUInt32LE(batch.length, 8);
        this.pagesSent += withData;
        if (writing !== null) await writing;
        writing = this.put(pieces);
      }
      if (writing !== null) await writing;
    } catch (err) {
      await writing?.catch(() => {});
      throw err;
    }
  }

  /**
   * Everything after the pages: the libxc stream's end state and END, the XenStore
   * subtree, the emulator context and libxl's END. With pages 'include' (a save file),
   * the image's pages go first, as one round.
   */
  async finish(image: DomainImage, options: { pages: 'include' | 'sent' } = { pages: 'include' }): Promise<void> {
    const h = image.hypervisor;
    if (options.pages === 'include') {
      await this.pages(h.memory.pfns, (_pfn, i) => h.memory.pages[i]!);
    }
    this.step(['header', 'pages'], 'done', 'the final records');
    if (h.type !== this.type) throw new Error(`save stream: the image is of a ${h.type} domain, the stream was begun for ${this.type}`);
    const tsc = Buffer.alloc(24);
    tsc.writeUInt32LE(0, 0); // TSC_MODE_DEFAULT
    tsc.writeUInt32LE(TSC_KHZ, 4);
    tsc.writeBigUInt64LE(BigInt(Math.max(0, Math.round(h.ageNs))), 8);
    const parts = [record(LIBXC_REC.X86_TSC_INFO, tsc), record(LIBXC_REC.SHARED_INFO, h.sharedInfo)];
    if (h.type === 'pv') {
      for (const v of h.vcpus) parts.push(record(LIBXC_REC.X86_PV_VCPU_BASIC, Buffer.concat([u32s(v.id, 0), encodeStateBlob(v)])));
    } else {
      const params = Buffer.alloc(8 + h.hvmParams.length * 16);
      params.writeUInt32LE(h.hvmParams.length, 0);
      h.hvmParams.forEach((p, i) => {
        params.writeBigUInt64LE(BigInt(p.index), 8 + i * 16);
        params.writeBigUInt64LE(BigInt(p.value), 16 + i * 16);
      });
      parts.push(record(LIBXC_REC.HVM_PARAMS, params));
      parts.push(record(LIBXC_REC.HVM_CONTEXT, encodeStateBlob(h.vcpus satisfies SavedVcpu[])));
    }
    parts.push(record(LIBXC_REC.END, Buffer.alloc(0)));

    const { memory, sharedInfo: _s, vcpus: _v, ageNs: _a, hvmParams, ...rest } = h;
    const domain: DomainRest = { ...rest, memory: { maxPages: memory.maxPages, reservation: memory.reservation }, ...(h.type === 'pv' ? { hvmParams } : {}) };
    const context: EmulatorContext = { record: image.record, domain, kernel: image.kernel, xenstore: image.xenstore };
    parts.push(record(LIBXL_REC.EMULATOR_CONTEXT, Buffer.concat([u32s(EMULATOR_ID_UNKNOWN, 0), encodeStateBlob(context)])));
    parts.push(record(LIBXL_REC.END, Buffer.alloc(0)));
    await this.put(Buffer.concat(parts));
  }
}

/** A whole save file's stream, as `xl save` writes it (the config JSON as xl stores it, or null for none). */
export async function writeSaveStream(sink: ChunkSink, image: DomainImage, configJson: string | null): Promise<SaveStreamWriter> {
  const w = new SaveStreamWriter(sink);
  await w.xlHeader(configJson);
  await w.begin(image.hypervisor.type, image.hypervisor.memory.maxPages);
  await w.finish(image);
  return w;
}
