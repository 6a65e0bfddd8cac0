import type { Hypercalls } from '../../hypervisor/hypercalls.js';
import type { KernelLog } from '../kernel-log.js';
import type { PageAllocator } from '../mm/page-allocator.js';
import type { XenbusDevice } from '../xenbus/device.js';
import type { XenbusDriver } from '../xenbus/driver.js';
import type { BalloonState } from './saved.js';

/**
 * The balloon driver (Linux drivers/xen/xen-balloon.c): watches ~/memory/target (KiB)
 * and moves the domain's reservation toward it, giving frames back to Xen
 * (decrease_reservation) or taking them back (populate_physmap). It never answers in
 * xenstore; the toolstack sees the result in the domain's page count.
 *
 * As Linux's balloon, it takes the frames it gives back from the kernel's page
 * allocator, so they are frames nothing else uses, and keeps them on its own list;
 * frames Xen gives back return to the allocator, the most recently ballooned first.
 * Xen may give more than were ballooned (a target above the boot size): those are the
 * frames above the boot reservation, which Linux likewise counts as ballooned at boot.
 *
 * A target below what the kernel needs to run is raised to a floor (minimumTargetPages),
 * as FreeBSD's and classic Linux's balloon do; the toolstack's node keeps what it wrote,
 * and the domain's page count shows what was reached.
 *
 * A child of xenstore (as FreeBSD's balloon), looking after the node `memory`.
 */
export class BalloonDriver implements XenbusDriver {
  readonly name = 'balloon';
  /** Frames given back to Xen, newest last. */
  private readonly ballooned: number[] = [];
  /** The last target read, in pages (balloon_stats.target_pages): what a resume aims for again. */
  private targetPages: number | null = null;

  constructor(
    private readonly hc: Pick<Hypercalls, 'decreaseReservation' | 'populatePhysmap'>,
    private readonly log: KernelLog,
    private readonly currentPages: () => number,
    private readonly pages: PageAllocator,
    /** The first frame above the boot reservation: where frames beyond the ballooned ones come from. */
    private nextNewGfn: number,
    /** The least the kernel keeps, in pages (minimumTargetPages of its boot size). */
    private readonly floorPages: number,
  ) {}

  identify(): string {
    return 'memory';
  }

  probe(dev: XenbusDevice): boolean {
    return dev.type === this.name;
  }

  async attach(dev: XenbusDevice): Promise<void> {
    await dev.xs.watch(`${dev.node}/target`, 'balloon', () => void this.onTarget(dev));
    this.log.print(`xen:balloon: Initialising balloon driver (${this.currentPages() * 4} KiB)`);
  }

  async detach(dev: XenbusDevice): Promise<void> {
    await dev.xs.unwatch(`${dev.node}/target`, 'balloon');
  }

  private async onTarget(dev: XenbusDevice): Promise<void> {
    let text: string;
    try {
      text = await dev.read('target');
    } catch {
      return;
    }
    if (!/^[0-9]+$/.test(text)) return;
    // set_new_target(): max(target, minimum_target()), where minimum_target() does not
    // enforce growth (a domain already below the floor is not grown to it).
    const target = Math.max(Math.floor(Number(text) / 4), Math.min(this.floorPages, this.currentPages()));
    this.targetPages = target;
    try {
      this.resize(target);
    } catch (err) {
      // A hypercall refused: the guest logs it and keeps running, as Linux's balloon does.
      this.log.print(`xen:balloon: cannot reach ${target * 4} KiB: ${(err as Error).message}`);
    }
  }

  save(): BalloonState {
    return { targetPages: this.targetPages, ballooned: [...this.ballooned], nextNewGfn: this.nextNewGfn };
  }

  /** Take a save (with the page allocator loaded from the same save: the ballooned frames are in neither's free list). */
  load(s: BalloonState): void {
    this.targetPages = s.targetPages;
    // Not splice(...s.ballooned): a spread of a quarter million frames (1 GiB ballooned out) overflows the stack.
    this.ballooned.length = 0;
    for (const gfn of s.ballooned) this.ballooned.push(gfn);
    this.nextNewGfn = s.nextNewGfn;
  }

  private resize(target: number): void {
    const current = this.currentPages();
    if (target < current) {
      const gfns = this.pages.allocMany(current - target);
      try {
        this.hc.decreaseReservation(gfns);
      } catch (err) {
        for (const gfn of gfns) this.pages.freePage(gfn);
        throw err;
      }
      for (const gfn of gfns) this.ballooned.push(gfn);
    } else if (target > current) {
      // Xen may grant fewer (the domain's max_pages, the host's free memory).
      const got = this.hc.populatePhysmap(target - current);
      for (let i = 0; i < got; i++) this.pages.freePage(this.ballooned.pop() ?? this.nextNewGfn++);
    } else {
      return;
    }
    this.log.print(`xen:balloon: target ${target * 4} KiB, now ${this.currentPages() * 4} KiB`);
  }
}

const MIB_PAGES = 256;

/**
 * minimum_target() of FreeBSD's sys/dev/xen/balloon/balloon.c (from classic Linux's
 * balloon): the pages a kernel booted with maxPfn frames keeps, a piecewise linear
 * function of its size: 8 MiB + 1/2 below 128 MiB, 40 MiB + 1/4 below 512 MiB,
 * 104 MiB + 1/8 below 2 GiB, 296 MiB + 1/32 above.
 */
export function minimumTargetPages(maxPfn: number): number {
  if (maxPfn < 128 * MIB_PAGES) return 8 * MIB_PAGES + Math.floor(maxPfn / 2);
  if (maxPfn < 512 * MIB_PAGES) return 40 * MIB_PAGES + Math.floor(maxPfn / 4);
  if (maxPfn < 2048 * MIB_PAGES) return 104 * MIB_PAGES + Math.floor(maxPfn / 8);
  return 296 * MIB_PAGES + Math.floor(maxPfn / 32);
}
