import type { XsClient } from '../../protocol/xs-client.js';
import type { Hypercalls } from '../../hypervisor/hypercalls.js';
import type { KernelLog } from '../kernel-log.js';

/**
 * The balloon driver (Linux drivers/xen/xen-balloon.c): watches ~/memory/target (KiB)
 * and moves the domain's reservation toward it, giving frames back to Xen
 * (decrease_reservation) or taking them back (populate_physmap). It never answers in
 * xenstore; the toolstack sees the result in the domain's page count.
 *
 * The frames it gives back are ordinary free frames of the guest: a run upward from
 * `firstFreeGfn`, well below the pages the kernel keeps for itself at the top of its
 * memory, and handed back in the reverse order.
 */
export class BalloonDriver {
  /** Frames currently given back to Xen: [firstFreeGfn, firstFreeGfn + ballooned). */
  private ballooned = 0;

  constructor(
    private readonly xs: XsClient,
    private readonly hc: Hypercalls,
    private readonly log: KernelLog,
    private readonly currentPages: () => number,
    private readonly firstFreeGfn: number,
  ) {}

  async start(): Promise<void> {
    await this.xs.watch('memory/target', 'balloon', () => void this.onTarget());
    this.log.print(`xen:balloon: Initialising balloon driver (${this.currentPages() * 4} KiB)`);
  }

  private async onTarget(): Promise<void> {
    let text: string;
    try {
      text = (await this.xs.read('memory/target')).toString('latin1');
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
