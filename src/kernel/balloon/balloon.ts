import type { Hypercalls } from '../../hypervisor/hypercalls.js';
import type { KernelLog } from '../kernel-log.js';
import type { XenbusDevice } from '../xenbus/device.js';
import type { XenbusDriver } from '../xenbus/driver.js';

/**
 * The balloon driver (Linux drivers/xen/xen-balloon.c): watches ~/memory/target (KiB)
 * and moves the domain's reservation toward it, giving frames back to Xen
 * (decrease_reservation) or taking them back (populate_physmap). It never answers in
 * xenstore; the toolstack sees the result in the domain's page count.
 *
 * The frames it gives back are ordinary free frames of the guest: a run upward from
 * `firstFreeGfn`, well below the pages the kernel keeps for itself at the top of its
 * memory, and handed back in the reverse order.
 *
 * A child of xenstore (as FreeBSD's balloon), looking after the node `memory`.
 */
export class BalloonDriver implements XenbusDriver {
  readonly name = 'balloon';
  /** Frames currently given back to Xen: [firstFreeGfn, firstFreeGfn + ballooned). */
  private ballooned = 0;

  constructor(
    private readonly hc: Hypercalls,
    private readonly log: KernelLog,
    private readonly currentPages: () => number,
    private readonly firstFreeGfn: number,
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
    const target = Math.floor(Number(text) / 4);
    try {
      this.resize(target);
    } catch (err) {
      // A hypercall refused: the guest logs it and keeps running, as Linux's balloon does.
      this.log.print(`xen:balloon: cannot reach ${target * 4} KiB: ${(err as Error).message}`);
    }
  }

  private resize(target: number): void {
    const current = this.currentPages();
    if (target < current) {
      const count = current - target;
      const gfns = Array.from({ length: count }, (_, i) => this.firstFreeGfn + this.ballooned + i);
      this.hc.decreaseReservation(gfns);
      this.ballooned += count;
    } else if (target > current) {
      // Xen may grant fewer (the domain's max_pages, the host's free memory).
      const got = this.hc.populatePhysmap(target - current);
      this.ballooned = Math.max(0, this.ballooned - got);
    } else {
      return;
    }
    this.log.print(`xen:balloon: target ${target * 4} KiB, now ${this.currentPages() * 4} KiB`);
  }
}
