/**
 * Whether a disk's next read or write may be made on the kernel's own thread.
 *
 * A call handed to libuv's pool costs two thread handoffs (waking a pool thread, then
 * the event loop), and on a small virtual machine a thread woken after being idle
 * can take milliseconds to run. A request the page cache answers takes ~0.1-0.3 ms
 * for 1 MiB when made in place, so a lone request is faster done inline, as an event
 * loop server such as nginx reads cached files in its loop. The price is the loop
 * blocked for the call: fine while the store answers from memory, not when it goes to
 * a slow disk or is throttled by writeback. So the store keeps its last inline call's
 * time: one slower than INLINE_SLOW_MS sends the following calls to the pool for a
 * while (0.1 s, doubling while they keep being slow, up to a minute), after which one
 * is tried inline again. The first backoff is short because a virtual machine's vCPU
 * is sometimes descheduled for milliseconds mid-call: such a call says nothing of the
 * image, and a long backoff would cost the disk its speed for nothing. Node has no
 * preadv2(RWF_NOWAIT), which would say beforehand whether a read would block.
 *
 * A call that never returns cannot be timed: an image on NFS whose server went away, or
 * on FUSE, would wedge the daemon on its first inline call. So only regular files on a
 * local filesystem (LOCAL_FILESYSTEMS) are read and written inline; block devices (an
 * NBD or iSCSI disk can hang the same way) and every other filesystem stay on the pool,
 * where a hung call holds one of its threads, not the daemon.
 */

/**
 * A call this small is made inline even with others of the disk on the pool: its copy
 * (~2 µs for 16 KiB from the page cache) costs the thread less than handing it to the
 * pool and taking its completion back, and small writes on the pool only contend for
 * the file's inode lock. Random 4 KiB reads at queue depth 32 went from 27-29% of raw
 * to 35-39%, writes from 100-103% to 179% (BENCHMARKS.md, eighth pass).
 */
export const INLINE_SMALL_BYTES = 16 * 1024;

/** An inline call this slow did not come from the page cache (1 MiB from memory takes ~0.3 ms at p99 here). */
export const INLINE_SLOW_MS = 2;
/** How long the first slow call keeps a store's calls on the pool. */
export const INLINE_BACKOFF_MS = 100;
/** The longest a store stays off the inline path before trying again. */
export const INLINE_BACKOFF_MAX_MS = 60_000;

/**
 * statfs(2) f_type of the filesystems whose I/O is local (linux/magic.h): ext2-4, XFS,
 * Btrfs, tmpfs, ramfs, overlayfs, F2FS, bcachefs and OpenZFS.
 */
const LOCAL_FILESYSTEMS: ReadonlySet<number> = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x858458f6, 0x794c7630, 0xf2f52010, 0xca451a4e, 0x2fc12fc1]);

/** Whether a file on a filesystem of this statfs type may be read and written inline. */
export function localFilesystem(fsType: number): boolean {
  return LOCAL_FILESYSTEMS.has(fsType);
}

export class InlineGate {
  /** No inline call before this time (ms, on `now`'s clock). */
  private until = -Infinity;
  private backoffMs = INLINE_BACKOFF_MS;

  /** `now`: a monotonic clock in ms (the host's: the loop is blocked in real time, whatever the guests' clock says). */
  constructor(private readonly now: () => number) {}

  /**
   * Run `call` inline if the store has been fast; false (nothing run) if it is in its
   * backoff. `call` throws as the call fails; its time counts either way.
   */
  attempt(call: () => void): boolean {
    const start = this.now();
    if (start < this.until) return false;
    try {
      call();
    } finally {
      this.took(this.now() - start, start);
    }
    return true;
  }

  private took(ms: number, start: number): void {
    if (ms <= INLINE_SLOW_MS) {
      this.backoffMs = INLINE_BACKOFF_MS;
      return;
    }
    this.until = start + ms + this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, INLINE_BACKOFF_MAX_MS);
  }
}
