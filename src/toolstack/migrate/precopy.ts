/**
 * The memory half of a live migration's sender, as libxc's save does it
 * (tools/libs/guest/xg_sr_save.c: send_memory_live, suspend_and_send_dirty): with
 * log-dirty mode on, round 0 sends every page that exists while the guest runs; each
 * later round sends what the guest (and its backends) wrote during the one before;
 * when the policy says so, the domain is suspended and the last round sends what was
 * written since, including what others hold writable (LOGDIRTY_FINAL). The rest of
 * the domain (vCPUs, shared_info, XenStore, the kernel) follows in the stream's final
 * records, which are the caller's.
 */

import { XEN_DOMCTL_SHADOW_LOGDIRTY, XEN_DOMCTL_SHADOW_OP } from '../../abi/index.js';
import type { Domctl } from '../../hypervisor/domctl.js';

/** Where a round's pages go: the stream writer's page records (a null page is a frame that is gone: XTAB). */
export interface PageWriter {
  pages(pfns: readonly number[], pageOf: (pfn: number, index: number) => Uint8Array | null): Promise<void>;
}

/** What the policy decides on (libxc's struct precopy_stats, plus the round before's count). */
export interface PrecopyStats {
  /** Rounds sent so far. */
  iteration: number;
  /** Pages the next round would send; -1 when not known yet (before the CLEAN). */
  dirtyCount: number;
  /** The previous round's count, -1 for none. */
  previousDirtyCount: number;
}

/** Another live round, or suspend and send the rest (XGS_POLICY_CONTINUE_PRECOPY / STOP_AND_COPY). */
export type PrecopyDecision = 'continue' | 'stop';
export type PrecopyPolicy = (stats: PrecopyStats) => PrecopyDecision;

/** libxc's simple_precopy_policy: stop below 50 dirty pages or after 5 rounds. */
export const SPP_MAX_ITERATIONS = 5;
export const SPP_TARGET_DIRTY_COUNT = 50;

/**
 * libxc's simple_precopy_policy, and one rule of the policy xc_domain_save had before
 * it: a round that leaves as many dirty pages as the one before did is not converging
 * (the guest writes as fast as we send), so another one only adds time, not less
 * downtime.
 */
export function simplePrecopyPolicy(s: PrecopyStats): PrecopyDecision {
  if (s.iteration >= SPP_MAX_ITERATIONS) return 'stop';
  if (s.dirtyCount < 0) return 'continue';
  if (s.dirtyCount < SPP_TARGET_DIRTY_COUNT) return 'stop';
  if (s.previousDirtyCount >= 0 && s.iteration > 1 && s.dirtyCount >= s.previousDirtyCount) return 'stop';
  return 'continue';
}

/** One round as sent: its number (0 is the full copy), the pages it sent, and how long it took. */
export interface PrecopyRound {
  round: number;
  pages: number;
  ms: number;
  /** The last round, sent with the domain suspended. */
  final: boolean;
}

/** The set bits of a dirty bitmap (bit n of byte n/8 is frame n), ascending. */
export function dirtyFrames(bitmap: Uint8Array): number[] {
  const gfns: number[] = [];
  for (let i = 0; i < bitmap.length; i++) {
    const byte = bitmap[i]!;
    if (byte === 0) continue;
    for (let b = 0; b < 8; b++) if (byte & (1 << b)) gfns.push(i * 8 + b);
  }
  return gfns;
}

/**
 * One domain's memory on its way out. live() runs the rounds while the guest runs and
 * returns when the policy stops them; the caller suspends the domain and calls
 * final(); stop() turns log-dirty mode off whatever happened (call it in a finally: a
 * failed migration leaves the domain as it was).
 */
export class PrecopySender {
  readonly rounds: PrecopyRound[] = [];
  private enabled = false;

  constructor(
    private readonly domctl: Domctl,
    private readonly domid: number,
    private readonly writer: PageWriter,
    private readonly policy: PrecopyPolicy = simplePrecopyPolicy,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Pages sent in all rounds. */
  get pagesSent(): number {
    return this.rounds.reduce((n, r) => n + r.pages, 0);
  }

  async live(): Promise<void> {
    this.domctl.shadowControl(this.domid, XEN_DOMCTL_SHADOW_OP.ENABLE_LOGDIRTY);
    this.enabled = true;
    // After enabling, so that a write during round 0 is in the next round.
    let dirty = this.domctl.backedFrames(this.domid);
    const stats: PrecopyStats = { iteration: 0, dirtyCount: dirty.length, previousDirtyCount: -1 };
    for (;;) {
      const decision = this.policy(stats);
      if (dirty.length > 0) await this.send(dirty, false);
      if (decision === 'stop') return;
      stats.iteration = this.rounds.length;
      stats.previousDirtyCount = stats.dirtyCount;
      stats.dirtyCount = -1;
      if (this.policy(stats) === 'stop') return;
      dirty = this.clean(0);
      stats.dirtyCount = dirty.length;
    }
  }

  /** The last round, with the domain suspended: what was written since the last live round. */
  async final(): Promise<void> {
    await this.send(this.clean(XEN_DOMCTL_SHADOW_LOGDIRTY.FINAL), true);
  }

  stop(): void {
    if (!this.enabled) return;
    this.enabled = false;
    try {
      this.domctl.shadowControl(this.domid, XEN_DOMCTL_SHADOW_OP.OFF);
    } catch {
      // The domain is gone (destroyed under us): nothing is left to turn off.
    }
  }

  private clean(mode: number): number[] {
    return dirtyFrames(this.domctl.shadowControl(this.domid, XEN_DOMCTL_SHADOW_OP.CLEAN, mode)!.bitmap);
  }

  private async send(gfns: number[], final: boolean): Promise<void> {
    const t0 = this.now();
    await this.writer.pages(gfns, (gfn) => this.domctl.readFrame(this.domid, gfn));
    this.rounds.push({ round: this.rounds.length, pages: gfns.length, ms: this.now() - t0, final });
  }
}
