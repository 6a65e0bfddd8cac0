import { EVTCHN_2L_NR_CHANNELS, lowestSetBit, type SharedInfoView, type VcpuInfoView } from '../../abi/index.js';

/** A port's handler: runs on the vCPU the port is bound to, with the port's pending bit cleared. */
export type PortHandler = (port: number, vcpu: number) => void;

const LANES = EVTCHN_2L_NR_CHANNELS >>> 5;

/**
 * The guest side of 2-level event delivery: the upcall that turns pending bits into
 * handler calls. Each port belongs to one vCPU (the one Xen notifies); a vCPU only
 * takes the ports bound to it, as Linux's per-CPU evtchn mask and FreeBSD's per-CPU
 * port sets do, so rebinding a port moves its handling with it.
 *
 * The scan is fair: it resumes after the last port it served, word and bit, so a port
 * that fires constantly cannot keep a quieter one waiting (FreeBSD xen_intr_handle_upcall,
 * Linux's current_word_idx / current_bit_idx).
 */
export class EvtchnDispatch {
  private readonly handlers: Array<PortHandler | undefined> = [];
  /** For each vCPU, the ports bound to it, as 32-bit lanes like evtchn_pending. */
  private readonly owned: Uint32Array[] = [];
  private readonly resumeLane: number[] = [];
  private readonly resumeBit: number[] = [];
  private readonly boundVcpu = new Int32Array(EVTCHN_2L_NR_CHANNELS).fill(-1);

  constructor(
    private readonly shared: SharedInfoView,
    private readonly vcpuInfo: (vcpu: number) => VcpuInfoView | null,
    nrVcpus: number,
  ) {
    for (let v = 0; v < nrVcpus; v++) {
      this.owned.push(new Uint32Array(LANES));
      this.resumeLane.push(0);
      this.resumeBit.push(0);
    }
  }

  /** Take `port` on `vcpu` with `handler`; its mask is cleared by the caller (unmask). */
  bind(port: number, vcpu: number, handler: PortHandler): void {
    this.unbind(port);
    this.handlers[port] = handler;
    this.boundVcpu[port] = vcpu;
    this.owned[vcpu]![port >>> 5]! |= 1 << (port & 31);
  }

  unbind(port: number): void {
    const v = this.boundVcpu[port]!;
    if (v >= 0) this.owned[v]![port >>> 5]! &= ~(1 << (port & 31));
    this.boundVcpu[port] = -1;
    this.handlers[port] = undefined;
  }

  /** Move a port's handling to another vCPU (after EVTCHNOP_bind_vcpu). */
  rebind(port: number, vcpu: number): void {
    const handler = this.handlers[port];
    if (handler !== undefined) this.bind(port, vcpu, handler);
  }

  vcpuOf(port: number): number {
    return this.boundVcpu[port]!;
  }

  /**
   * The upcall on `vcpu`: clear the flag, take the selector, serve every pending and
   * unmasked port of this vCPU in the flagged words, until no new upcall is flagged.
   */
  upcall(vcpu: number): number {
    const info = this.vcpuInfo(vcpu);
    if (info === null) return 0;
    const owned = this.owned[vcpu]!;
    let served = 0;
    while (info.evtchnUpcallPending !== 0) {
      info.evtchnUpcallPending = 0;
      // A 64-bit selector word covers two 32-bit pending lanes.
      const sel = [info.exchangeSelHalf(0), info.exchangeSelHalf(1)];
      served += this.scan(vcpu, owned, sel);
    }
    return served;
  }

  private scan(vcpu: number, owned: Uint32Array, sel: number[]): number {
    // Start where the last scan stopped; the bits before that point in the starting
    // lane are served last, after one full round of every other lane.
    const startLane = this.resumeLane[vcpu]!;
    const startBit = this.resumeBit[vcpu]!;
    const below = (1 << startBit) - 1;
    let served = 0;
    for (let n = 0; n <= LANES; n++) {
      const lane = (startLane + n) % LANES;
      // Word w of evtchn_pending (flagged by selector bit w) is lanes 2w and 2w+1.
      const word = lane >>> 1;
      if ((sel[word >>> 5]! & (1 << (word & 31))) === 0) continue;
      let bits = this.shared.pendingLane(lane) & ~this.shared.maskLane(lane) & owned[lane]!;
      if (n === 0) bits &= ~below;
      else if (n === LANES) bits &= below;
      served += this.serveBits(vcpu, lane, bits);
    }
    return served;
  }

  private serveBits(vcpu: number, lane: number, bits: number): number {
    let served = 0;
    while (bits !== 0) {
      const bit = lowestSetBit(bits);
      bits &= bits - 1;
      const port = (lane << 5) | bit;
      // Edge-triggered: clear pending first, so an event raised while the handler
      // runs is seen by the next scan instead of being lost.
      this.shared.clearPending(port);
      this.resumeLane[vcpu] = lane;
      this.resumeBit[vcpu] = (bit + 1) & 31;
      if (bit === 31) this.resumeLane[vcpu] = (lane + 1) % LANES;
      this.handlers[port]?.(port, vcpu);
      served++;
    }
    return served;
  }
}
