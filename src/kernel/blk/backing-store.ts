import { open, readFile, stat, statfs, type FileHandle } from 'node:fs/promises';
import { constants, readv, readvSync, writev, writevSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { InlineGate, localFilesystem } from './inline-gate.js';

/**
 * What blkback reads and writes for a disk: a regular file (a raw image) or a block
 * device, chosen by what the path is, as FreeBSD's xbb_open_backend picks its
 * "file" or "dev" backend from the vnode type. Every request is one vectored system
 * call at a position (preadv/pwritev through libuv's thread pool), so many requests
 * are in flight at once and finish in whatever order the kernel completes them. A
 * lone request may instead be made on the calling thread (readvNow/writevNow), while
 * the store answers as fast as the page cache does (see inline-gate.ts).
 *
 * Discard: Node has no fallocate(FALLOC_FL_PUNCH_HOLE) and no BLKDISCARD ioctl, so
 * no store can really discard; blkback advertises no feature-discard and answers a
 * BLKIF_OP_DISCARD with EOPNOTSUPP. Writing zeros instead would be a lie about what
 * discard does (it frees space), so it is not done.
 */
export interface BackingStore {
  readonly path: string;
  readonly kind: 'file' | 'device' | 'empty';
  /** Size in bytes (a file's length; a device's from sysfs; 0 for an empty drive). */
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  /** One preadv at `position`: fills the buffers in order, all or fails. */
  readv(buffers: readonly Uint8Array[], position: number): Promise<void>;
  /** One pwritev at `position`. */
  writev(buffers: readonly Uint8Array[], position: number): Promise<void>;
  /**
   * The same preadv made now, on this thread, if the store has been answering fast:
   * true when done (it throws as readv rejects), false when the caller must use readv.
   * A store that cannot block its caller briefly has none.
   */
  readvNow?(buffers: readonly Uint8Array[], position: number): boolean;
  /** writev's inline twin, as readvNow. */
  writevNow?(buffers: readonly Uint8Array[], position: number): boolean;
  /** fdatasync: what was written is on stable storage. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** A backing store that cannot be opened: the path, and why (the errno name). */
export class BackingStoreError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Open `path` for a disk: read-write unless `readOnly`. A regular file or a block
 * device; anything else (a directory, a fifo) is refused. `now` times the inline
 * calls (ms, monotonic).
 */
export async function openBackingStore(path: string, readOnly: boolean, now: () => number = () => performance.now()): Promise<BackingStore> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new BackingStoreError(err.code ?? 'EIO', `${path}: ${err.message}`);
  });
  let kind: 'file' | 'device';
  if (st.isFile()) kind = 'file';
  else if (st.isBlockDevice()) kind = 'device';
  else throw new BackingStoreError('EINVAL', `${path}: neither a regular file nor a block device`);
  const fh = await open(path, readOnly ? constants.O_RDONLY : constants.O_RDWR).catch((err: NodeJS.ErrnoException) => {
    throw new BackingStoreError(err.code ?? 'EIO', `${path}: cannot open ${readOnly ? 'read-only' : 'read-write'}: ${err.message}`);
  });
  try {
    const sizeBytes = kind === 'file' ? st.size : await deviceSize(path, st.rdev);
    const inline = kind === 'file' && localFilesystem(await statfs(path).then((f) => f.type, () => 0));
    return new FileStore(path, kind, fh, sizeBytes, readOnly, inline ? new InlineGate(now) : null);
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** A block device's size: /sys/dev/block/MAJ:MIN/size counts 512-byte sectors (Node has no BLKGETSIZE64). */
async function deviceSize(path: string, rdev: number): Promise<number> {
  // glibc's major()/minor() for a 64-bit dev_t (the high bits only matter past 4095/255).
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | (Math.floor(rdev / 4096) & ~0xff & 0xfffff);
  const sysfs = `/sys/dev/block/${major}:${minor}/size`;
  const text = await readFile(sysfs, 'latin1').catch((err: Error) => {
    throw new BackingStoreError('EIO', `${path}: cannot read its size from ${sysfs}: ${err.message}`);
  });
  return Number(text.trim()) * 512;
}

class FileStore implements BackingStore {
  /** Calls on the pool not answered yet (see onPool). */
  private pending = 0;
  private idle: (() => void) | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    readonly path: string,
    readonly kind: 'file' | 'device',
    private readonly fh: FileHandle,
    readonly sizeBytes: number,
    readonly readOnly: boolean,
    /** null: never inline (see inline-gate.ts). */
    private readonly gate: InlineGate | null,
  ) {}

  async readv(buffers: readonly Uint8Array[], position: number): Promise<void> {
    this.checkRead(buffers, position, await this.onPool((done) => readv(this.fh.fd, buffers as Uint8Array[], position, done)));
  }

  readvNow(buffers: readonly Uint8Array[], position: number): boolean {
    if (this.gate === null || this.closing !== null) return false;
    return this.gate.attempt(() => this.checkRead(buffers, position, readvSync(this.fh.fd, buffers as Uint8Array[], position)));
  }

  /** A file that shrank under us (or a device that ended early): what is past its end reads as an error. */
  private checkRead(buffers: readonly Uint8Array[], position: number, bytesRead: number): void {
    const want = total(buffers);
    if (bytesRead !== want) throw new BackingStoreError('EIO', `${this.path}: short read at ${position}: ${bytesRead} of ${want} bytes`);
  }

  async writev(buffers: readonly Uint8Array[], position: number): Promise<void> {
    let rest = buffers;
    let at = position;
    for (;;) {
      const written = await this.onPool((done) => writev(this.fh.fd, rest as Uint8Array[], at, done));
      const left = this.remainder(rest, at, written);
      if (left === null) return;
      rest = left;
      at += written;
    }
  }

  writevNow(buffers: readonly Uint8Array[], position: number): boolean {
    if (this.gate === null || this.closing !== null) return false;
    return this.gate.attempt(() => {
      let rest = buffers;
      let at = position;
      for (;;) {
        const written = writevSync(this.fh.fd, rest as Uint8Array[], at);
        const left = this.remainder(rest, at, written);
        if (left === null) return;
        rest = left;
        at += written;
      }
    });
  }

  /**
   * What a pwritev that wrote `written` bytes of `buffers` left to write (null: all
   * of it was written). pwritev may write less than asked (a signal, a full disk first
   * fills what it can): the caller goes on with the rest, or fails if nothing moved.
   */
  private remainder(buffers: readonly Uint8Array[], at: number, written: number): readonly Uint8Array[] | null {
    if (written === total(buffers)) return null;
    if (written === 0) throw new BackingStoreError('EIO', `${this.path}: write at ${at} made no progress`);
    return skip(buffers, written);
  }

  /**
   * A call on libuv's pool through the callback API, on the handle's descriptor. Not
   * FileHandle's own readv/writev: their promise machinery cost ~5-8 µs more of the
   * main thread per call here, which for 4 KiB requests was most of blkback's time.
   * What FileHandle did besides is done here: the calls are counted, and close() waits
   * for them, so the descriptor is never closed (and its number reused by another
   * open) under a call still queued on the pool.
   */
  private onPool(call: (done: (err: NodeJS.ErrnoException | null, n: number) => void) => void): Promise<number> {
    if (this.closing !== null) return Promise.reject(new BackingStoreError('EBADF', `${this.path}: the store is closed`));
    this.pending++;
    return new Promise((resolve, reject) =>
      call((err, n) => {
        if (--this.pending === 0) this.idle?.();
        if (err === null) resolve(n);
        else reject(err);
      }),
    );
  }

  async flush(): Promise<void> {
    await this.fh.datasync();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.pending > 0) await new Promise<void>((resolve) => (this.idle = resolve));
      await this.fh.close();
    })();
    return this.closing;
  }
}

function total(buffers: readonly Uint8Array[]): number {
  let n = 0;
  for (const b of buffers) n += b.byteLength;
  return n;
}

/** The buffers without their first `n` bytes. */
function skip(buffers: readonly Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let left = n;
  for (const b of buffers) {
    if (left >= b.byteLength) {
      left -= b.byteLength;
      continue;
    }
    out.push(left > 0 ? b.subarray(left) : b);
    left = 0;
  }
  return out;
}

/**
 * A removable drive with no medium in it: a cdrom whose `params` is empty (libxl's
 * `format=empty`, as `,hdc:cdrom,r` gives). It has no sectors, and any I/O that still
 * reaches it fails as a drive without a disc does.
 */
export function emptyDrive(): BackingStore {
  const noMedium = (): Promise<never> => Promise.reject(new BackingStoreError('ENOMEDIUM', 'no medium in the drive'));
  return {
    path: '',
    kind: 'empty',
    sizeBytes: 0,
    readOnly: true,
    readv: noMedium,
    writev: noMedium,
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
