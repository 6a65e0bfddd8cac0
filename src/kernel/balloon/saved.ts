/** What the balloon driver keeps in kernel memory (Linux's balloon_stats and its page list), as plain data. */
export interface BalloonState {
  /** The last target the toolstack set (~/memory/target), in pages; null before the first. */
  targetPages: number | null;
  /** Frames given back to Xen, newest last: the first to be filled again. */
  ballooned: number[];
  /** The first frame above the boot reservation not handed to the kernel yet. */
  nextNewGfn: number;
}
