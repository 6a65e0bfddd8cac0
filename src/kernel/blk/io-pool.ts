import type * as Fs from 'node:fs';
import { Worker, type MessagePort } from 'node:worker_threads';

/**
 * blkback's data path off the event loop: a few worker threads that make the vectored
 * system calls (preadv, pwritev, fdatasync) straight into the frontend's pages, which
 * are SharedArrayBuffers (src/hypervisor/memory.ts). The main thread keeps everything
 * that is hypervisor or ring state: it maps and unmaps the grants, reads the ring and
 * answers it, and tells the workers which pages are mapped. A worker touches only
 * those: a vector over a page not mapped for the backend is refused (EFAULT) before
 * any byte moves, and a page stays mapped until the call that uses it has answered
 * (blkback unmaps after the answer), so a page the backend writes is never one the
 * guest already has back.
 *
 * Why threads: libuv's pool does the same copies, but issuing each call costs the main
 * thread tens of µs (queueing, waking a pool thread on a busy core) and its completion
 * a promise hop; a worker takes the call in a message and does it synchronously, off
 * the thread that runs the rings.
 */

/** What a worker does with a job. */
export type IoOp = 'read' | 'write' | 'sync';

/** Messages to a worker. Pages are (buffer id, page index) pairs; vectors (buffer id, byte offset, length) triples. */
type ToWorker =
  | { t: 'buffer'; id: number; buffer: SharedArrayBuffer }
  | { t: 'forget'; id: number }
  | { t: 'map'; pages: number[] }
  | { t: 'unmap'; pages: number[] }
  | { t: 'io'; job: number; op: IoOp; fd: number; position: number; vectors: number[]; pages: number[] };

/** A worker's answer: bytes moved, or why not (an errno name and a message). */
interface FromWorker {
  job: number;
  bytes: number;
  code: string | null;
  error: string | null;
}

/** An I/O call that failed in a worker: the errno name (EFAULT for a page not mapped), as fs errors carry it. */
export class IoError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const PAGE = 4096;

/**
 * The worker's code. It runs in a thread started from this source text (no module
 * loading, so it starts in milliseconds under tsx too); it may use only its parameters.
 * tsx compiles it with esbuild's keepNames, whose `__name` the boot line defines.
 */
function ioWorker(fs: typeof Fs, port: MessagePort, page: number): void {
  const buffers = new Map<number, Uint8Array>();
  /** Mappings per page of each buffer (a page may be mapped more than once). */
  const mapped = new Map<number, Int32Array>();
  const adjust = (pages: number[], by: number): void => {
    for (let i = 0; i < pages.length; i += 2) {
      const counts = mapped.get(pages[i]!);
      if (counts !== undefined) counts[pages[i + 1]!]! += by;
    }
  };
  /** The vectors as views, or the first byte range that is not on a mapped page. */
  const views = (vectors: number[]): Uint8Array[] | string => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < vectors.length; i += 3) {
      const [id, offset, length] = [vectors[i]!, vectors[i + 1]!, vectors[i + 2]!];
      const buf = buffers.get(id);
      const counts = mapped.get(id);
      if (buf === undefined || counts === undefined || length <= 0 || offset < 0 || offset + length > buf.byteLength) return `bytes ${offset}..${offset + length - 1} of buffer ${id}: no such buffer range`;
      for (let p = Math.floor(offset / page); p * page < offset + length; p++) {
        if (counts[p] === 0) return `page ${p} of buffer ${id} is not mapped for this backend`;
      }
      out.push(buf.subarray(offset, offset + length));
    }
    return out;
  };
  const run = (m: { op: IoOp; fd: number; position: number; vectors: number[] }): number => {
    if (m.op === 'sync') {
      fs.fdatasyncSync(m.fd);
      return 0;
    }
    const bufs = views(m.vectors);
    if (typeof bufs === 'string') throw Object.assign(new Error(bufs), { code: 'EFAULT' });
    if (m.op === 'read') return fs.readvSync(m.fd, bufs, m.position);
    // pwritev may write less than asked (a signal, a disk filling up): finish or fail.
    const rest = bufs;
    let at = m.position;
    let done = 0;
    while (rest.length > 0) {
      let n = fs.writevSync(m.fd, rest, at);
      if (n === 0) throw Object.assign(new Error(`write at ${at} made no progress`), { code: 'EIO' });
      done += n;
      at += n;
      while (rest.length > 0 && n >= rest[0]!.byteLength) n -= rest.shift()!.byteLength;
      if (n > 0) rest[0] = rest[0]!.subarray(n);
    }
    return done;
  };
  port.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'buffer':
        buffers.set(m.id, new Uint8Array(m.buffer));
        mapped.set(m.id, new Int32Array(Math.ceil(m.buffer.byteLength / page)));
        return;
      case 'forget':
        buffers.delete(m.id);
        mapped.delete(m.id);
        return;
      case 'map':
        adjust(m.pages, 1);
        return;
      case 'unmap':
        adjust(m.pages, -1);
        return;
      case 'io': {
        // The pages mapped for this call only are the worker's for its duration, and no longer.
        adjust(m.pages, 1);
        let answer: FromWorker;
        try {
          answer = { job: m.job, bytes: run(m), code: null, error: null };
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          answer = { job: m.job, bytes: 0, code: e.code ?? 'EIO', error: e.message };
        }
        adjust(m.pages, -1);
        port.postMessage(answer);
        return;
      }
    }
  });
}

const BOOT = `const __name = (f) => f;\n(${ioWorker.toString()})(require('node:fs'), require('node:worker_threads').parentPort, ${PAGE});`;

/**
 * Where a store's call runs: the pool, and the pages mapped for this call only (a
 * request's grants without feature-persistent), which its worker may touch while the
 * call runs. Pages mapped across calls are told to every worker with IoPool.map.
 */
export interface IoCall {
  readonly pool: IoPool;
  readonly pages: readonly Uint8Array[];
}

interface Pending {
  resolve: (bytes: number) => void;
  reject: (err: Error) => void;
  worker: number;
}

/**
 * The workers of one backend domain's blkback, started at its first connected ring and
 * stopped when its last ring goes (or its kernel stops), as Linux starts a blkback
 * kthread per ring. Jobs go to the least busy worker, so a lone stream stays on one
 * warm thread and a deep queue spreads over all of them.
 */
export class IoPool {
  private readonly workers: Worker[] = [];
  private readonly busy: number[] = [];
  /** Buffers (guest memory chunks) the workers were given, by id; forgotten when guest memory drops the buffer. */
  private readonly known = new WeakMap<SharedArrayBuffer, number>();
  private readonly forget = new FinalizationRegistry<number>((id) => {
    if (!this.closed) this.broadcast({ t: 'forget', id });
  });
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private nextJob = 0;
  private closed = false;
  /** Why a worker died, if one did. */
  private death: Error | null = null;

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(BOOT, { eval: true, execArgv: [], stdout: false, stderr: false });
      w.on('message', (m: FromWorker) => this.answered(m));
      w.on('error', (err) => this.failed(err));
      // Idle workers keep nothing alive; a job in flight does (see ref in submit).
      w.unref();
      this.workers.push(w);
      this.busy.push(0);
    }
  }

  /** Threads running (for tests: none after close). */
  get threads(): number {
    return this.workers.length;
  }

  /** Pages the backend mapped across calls (persistent grants): every worker may read and write them until unmap. */
  map(pages: readonly Uint8Array[]): void {
    if (pages.length > 0 && !this.closed) this.broadcast({ t: 'map', pages: this.pageList(pages) });
  }

  /** Pages given to map that the backend unmaps (after every call using them answered): the workers refuse them from now on. */
  unmap(pages: readonly Uint8Array[]): void {
    if (pages.length > 0 && !this.closed) this.broadcast({ t: 'unmap', pages: this.pageList(pages) });
  }

  /**
   * preadv/pwritev at `position` over `buffers` (views of mapped pages), or fdatasync,
   * on the least busy thread; `mappedForCall` are pages mapped for this call only.
   * Resolves with the bytes moved.
   */
  submit(op: IoOp, fd: number, buffers: readonly Uint8Array[], position: number, mappedForCall: readonly Uint8Array[] = []): Promise<number> {
    if (this.closed) return Promise.reject(this.stopped());
    const pages = mappedForCall.length === 0 ? [] : this.pageList(mappedForCall);
    const vectors: number[] = [];
    for (const b of buffers) {
      const id = b.buffer instanceof SharedArrayBuffer ? this.known.get(b.buffer) : undefined;
      // Not a buffer the workers know: the worker refuses it as it refuses an unmapped page (-1 is no buffer).
      vectors.push(id ?? -1, b.byteOffset, b.byteLength);
    }
    let w = 0;
    for (let i = 1; i < this.busy.length; i++) if (this.busy[i]! < this.busy[w]!) w = i;
    if (this.busy[w]!++ === 0) this.workers[w]!.ref();
    const job = this.nextJob++;
    return new Promise<number>((resolve, reject) => {
      this.pending.set(job, { resolve, reject, worker: w });
      this.workers[w]!.postMessage({ t: 'io', job, op, fd, position, vectors, pages } satisfies ToWorker);
    });
  }

  /** Stop the threads; jobs still pending fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [job, p] of this.pending) {
      this.pending.delete(job);
      p.reject(this.stopped());
    }
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private stopped(): IoError {
    return new IoError('EIO', `the backend's I/O threads are stopped${this.death === null ? '' : ` (a thread failed: ${this.death.message})`}`);
  }

  /** Pages as (buffer id, page index) pairs, giving the workers each buffer they do not have yet. */
  private pageList(pages: readonly Uint8Array[]): number[] {
    const list: number[] = [];
    for (const p of pages) list.push(this.register(p), p.byteOffset / PAGE);
    return list;
  }

  private register(p: Uint8Array): number {
    const buffer = p.buffer;
    if (!(buffer instanceof SharedArrayBuffer)) throw new IoError('EINVAL', 'a mapped page not in shared guest memory');
    let id = this.known.get(buffer);
    if (id === undefined) {
      id = this.nextId++;
      this.known.set(buffer, id);
      // The workers hold the buffer until guest memory drops it here (a freed chunk): then they are told to forget it.
      this.forget.register(buffer, id);
      this.broadcast({ t: 'buffer', id, buffer });
    }
    return id;
  }

  private broadcast(m: ToWorker): void {
    for (const w of this.workers) w.postMessage(m);
  }

  private answered(m: FromWorker): void {
    const p = this.pending.get(m.job);
    if (p === undefined) return;
    this.pending.delete(m.job);
    if (--this.busy[p.worker]! === 0) this.workers[p.worker]?.unref();
    if (m.code === null) p.resolve(m.bytes);
    else p.reject(new IoError(m.code, m.error ?? m.code));
  }

  /**
   * A worker died (it should not: every call's error is caught and answered). Its jobs
   * would never be answered: stop the pool, so every job in flight fails now and every
   * later one at once (blkback answers them BLKIF_RSP_ERROR), rather than hang.
   */
  private failed(err: Error): void {
    this.death ??= err;
    void this.close();
  }
}
