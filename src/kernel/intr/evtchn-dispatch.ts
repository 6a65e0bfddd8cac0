import { EVTCHN_2L_NR_CHANNELS, lowestSetBit, SharedInfoView, type VcpuInfoView } from '../../abi/index.js';
import type { EvtchnDispatchState } from './saved.js';

/** A port's handler: runs on the vCPU the port is bound to, with the port's pending bit cleared. */
export type PortHandler = (port: number, vcpu: number) => void;

const LANES = EVTCHN_2L_NR_CHANNELS >>> 5;
const PORT_MASK = EVTCHN_2L_NR_CHANNELS - 1;

/**
 * How many times one upcall rescans after new events arrived while it ran, before it
 * returns and lets the other vCPUs and domains run. The hypervisor re-delivers the
 * upcall while the flag stays set, so nothing is lost by stopping.
 */
export const UPCALL_ROUNDS = 64;

/** Bits of lane `x` strictly above bit `b` (b from -1 to 31). */
function bitsAbove(x: number, b: number): number {
  if (b < 0) return x;
  if (b >= 31) return 0;
  return x & ~((2 << b) - 1);
}

/** Bits of lane `x` strictly below bit `b` (b from 0 to 32). */
function bitsBelow(x: number, b: number): number {
  if (b <= 0) return 0;
  if (b >= 32) return x;
  return x & ((1 << b) - 1);
}

/** Bits `from` (inclusive) to `to` (exclusive) of a lane, 0 ≤ from ≤ to ≤ 32. */
function bitRange(from: number, to: number): number {
  if (from >= to) return 0;
  const upper = to >= 32 ? 0xffffffff : (1 << to) - 1;
  return (upper & ~((1 << from) - 1)) | 0;
}

function isPort(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p < EVTCHN_2L_NR_CHANNELS;
}

/**
 * The guest side of 2-level event delivery: the upcall that turns pending bits into
 * handler calls, as FreeBSD's xen_intr_handle_upcall does it.
 *
 * Each port belongs to one vCPU: the one Xen notifies. A vCPU only takes the ports
 * enabled for it (FreeBSD's per-CPU evtchn_enabled bitmaps, Linux's cpu_evtchn_mask),
 * because the selector bit that brought it here says only that some port in the word
 * is pending, possibly one that belongs to another vCPU. Rebinding a port moves its
 * bit from one vCPU's map to the other's.
 *
 * The scan is fair: it resumes right after the last port it served (FreeBSD keeps
 * last_processed_l1i/l2i per CPU, Linux current_word_idx/current_bit_idx), and the
 * ports before that point are served last. A port that fires again while it is being
 * handled therefore waits until every other pending port of its vCPU had its turn,
 * so one busy device cannot starve a quiet one.
 *
 * Pending is cleared before the handler runs, so an event raised while the handler
 * runs sets the bit again and is seen by the next scan rather than lost: this is what
 * makes event channels edge-triggered.
 */
export class EvtchnDispatch {
  protected readonly handlers: Array<PortHandler | undefined> = [];
  /** For each vCPU, the ports enabled on it, as 32-bit lanes like evtchn_pending. */
  protected readonly enabled: Uint32Array[] = [];
  /** For each vCPU, the port its next scan starts at (one past the last one served). */
  private readonly scanStart: Int32Array;
  protected readonly boundVcpu = new Int32Array(EVTCHN_2L_NR_CHANNELS).fill(-1);
  /** evtchn_pending and evtchn_mask of shared_info as lanes, read directly by the scan. */
  private readonly pendingLanes: Uint32Array;
  private readonly maskLanes: Uint32Array;
  private readonly atomic: boolean;
  /** Whether the last upcall stopped after UPCALL_ROUNDS with its flag still set. */
  protected yielded = false;

  constructor(
    protected readonly shared: SharedInfoView,
    protected readonly vcpuInfo: (vcpu: number) => VcpuInfoView | null,
    readonly nrVcpus: number,
  ) {
    const f = SharedInfoView.layout.fields;
    const v = shared.view;
    this.pendingLanes = new Uint32Array(v.buffer, v.byteOffset + f.evtchnPending.offset, LANES);
    this.maskLanes = new Uint32Array(v.buffer, v.byteOffset + f.evtchnMask.offset, LANES);
    this.atomic = shared.evtchnPending.atomic;
    for (let cpu = 0; cpu < nrVcpus; cpu++) this.enabled.push(new Uint32Array(LANES));
    this.scanStart = new Int32Array(nrVcpus);
  }

  /** Take `port` on `vcpu` with `handler`; its mask is cleared by the caller (unmask). */
  bind(port: number, vcpu: number, handler: PortHandler): void {
    this.unbind(port);
    this.handlers[port] = handler;
    this.cpuUnmaskPort(vcpu, port);
  }

  unbind(port: number): void {
    const v = this.boundVcpu[port]!;
    if (v >= 0) this.cpuMaskPort(v, port);
    this.handlers[port] = undefined;
  }

  /** Move a port's handling to another vCPU (after EVTCHNOP_bind_vcpu). */
  rebind(port: number, vcpu: number): void {
    const v = this.boundVcpu[port]!;
    if (v < 0) return;
    this.cpuMaskPort(v, port);
    this.cpuUnmaskPort(vcpu, port);
  }

  /** The vCPU a port is enabled on, or -1. */
  vcpuOf(port: number): number {
    return this.boundVcpu[port]!;
  }

  /** evtchn_cpu_unmask_port: `vcpu` takes `port` from now on. */
  protected cpuUnmaskPort(vcpu: number, port: number): void {
    const old = this.boundVcpu[port]!;
    if (old >= 0 && old !== vcpu) this.enabled[old]![port >>> 5]! &= ~(1 << (port & 31));
    this.enabled[vcpu]![port >>> 5]! |= 1 << (port & 31);
    this.boundVcpu[port] = vcpu;
  }

  /** evtchn_cpu_mask_port: `vcpu` no longer takes `port`. */
  protected cpuMaskPort(vcpu: number, port: number): void {
    this.enabled[vcpu]![port >>> 5]! &= ~(1 << (port & 31));
    if (this.boundVcpu[port] === vcpu) this.boundVcpu[port] = -1;
  }

  /** The per-vCPU port maps and scan positions (the pending and mask bits are in shared_info). */
  protected saveDispatch(): EvtchnDispatchState {
    const enabledPorts = this.enabled.map((lanes) => {
      const ports: number[] = [];
      lanes.forEach((bits, lane) => {
        for (let b = bits; b !== 0; b &= b - 1) ports.push((lane << 5) | lowestSetBit(b));
      });
      return ports;
    });
    return { enabledPorts, scanResume: Array.from(this.scanStart) };
  }

  /**
   * Take the port maps and scan positions of a save. A port enabled on two vCPUs, or a
   * position that is not a port, is a corrupt save: refused before anything changes.
   */
  protected loadDispatch(s: EvtchnDispatchState): void {
    if (s.enabledPorts.length !== this.nrVcpus || s.scanResume.length !== this.nrVcpus) {
      throw new RangeError(`saved event dispatch has ${s.enabledPorts.length} vCPUs, this kernel ${this.nrVcpus}`);
    }
    const owner = new Map<number, number>();
    s.enabledPorts.forEach((ports, v) => {
      for (const port of ports) {
        if (!isPort(port)) throw new RangeError(`saved event dispatch: vCPU ${v} enables ${port}, which is not a port`);
        if (owner.has(port)) throw new RangeError(`saved event dispatch: port ${port} is enabled on vCPUs ${owner.get(port)} and ${v}`);
        owner.set(port, v);
      }
    });
    for (const r of s.scanResume) if (!isPort(r)) throw new RangeError(`saved event dispatch: scan position ${r} is not a port`);
    for (const lanes of this.enabled) lanes.fill(0);
    this.boundVcpu.fill(-1);
    for (const [port, v] of owner) this.cpuUnmaskPort(v, port);
    this.scanStart.set(s.scanResume);
  }

  /** Forget every port (a resume in a new domain, where none of them exists): no vCPU takes any, scans start at 0. */
  protected resetDispatch(): void {
    for (const lanes of this.enabled) lanes.fill(0);
    this.boundVcpu.fill(-1);
    this.handlers.length = 0;
    this.scanStart.fill(0);
  }

  /** Serve one port (pending already cleared). Subclasses dispatch to their sources. */
  protected servePort(port: number, vcpu: number): void {
    this.handlers[port]?.(port, vcpu);
  }

  /**
   * The upcall on `vcpu`: clear the flag, take the selector, serve every pending,
   * unmasked port of this vCPU in the flagged words; again while new events flagged
   * the upcall meanwhile, up to UPCALL_ROUNDS times. Returns how many ports it served.
   */
  upcall(vcpu: number): number {
    this.yielded = false;
    const info = this.vcpuInfo(vcpu);
    if (info === null) return 0;
    let served = 0;
    for (let round = 0; info.evtchnUpcallPending !== 0; round++) {
      if (round === UPCALL_ROUNDS) {
        this.yielded = true;
        break;
      }
      // Clear the flag before taking the selector: Xen sets the selector first and the
      // flag second, so a raise in between is either in this selector or flags again.
      info.evtchnUpcallPending = 0;
      const lo = info.exchangeSelHalf(0);
      const hi = info.exchangeSelHalf(1);
      if ((lo | hi) !== 0) served += this.scan(vcpu, lo, hi);
    }
    return served;
  }

  /**
   * One pass over the selected words in the order "from the resume point to the end,
   * then from the start to the resume point": the resume word's ports from the
   * resume bit on, the selected words above it, the selected words below it, and
   * last the resume word's ports before the resume bit.
   */
  private scan(vcpu: number, lo: number, hi: number): number {
    const en = this.enabled[vcpu]!;
    const start = this.scanStart[vcpu]!;
    const sw = start >>> 6;
    const sb = start & 63;
    const selected = sw < 32 ? (lo >>> sw) & 1 : (hi >>> (sw - 32)) & 1;
    let served = 0;
    if (selected) served += this.scanWord(vcpu, en, sw, sb, 64);
    let aLo: number, aHi: number, bLo: number, bHi: number;
    if (sw < 32) {
      aLo = bitsAbove(lo, sw);
      aHi = hi;
      bLo = bitsBelow(lo, sw);
      bHi = 0;
    } else {
      aLo = 0;
      aHi = bitsAbove(hi, sw - 32);
      bLo = lo;
      bHi = bitsBelow(hi, sw - 32);
    }
    while (aLo !== 0) {
      const w = lowestSetBit(aLo);
      aLo &= aLo - 1;
      served += this.scanWord(vcpu, en, w, 0, 64);
    }
    while (aHi !== 0) {
      const w = 32 + lowestSetBit(aHi);
      aHi &= aHi - 1;
      served += this.scanWord(vcpu, en, w, 0, 64);
    }
    while (bLo !== 0) {
      const w = lowestSetBit(bLo);
      bLo &= bLo - 1;
      served += this.scanWord(vcpu, en, w, 0, 64);
    }
    while (bHi !== 0) {
      const w = 32 + lowestSetBit(bHi);
      bHi &= bHi - 1;
      served += this.scanWord(vcpu, en, w, 0, 64);
    }
    if (selected && sb > 0) served += this.scanWord(vcpu, en, sw, 0, sb);
    return served;
  }

  /** Serve the active ports of word `w` (64-bit word, two lanes) with bit index in [from, to). */
  private scanWord(vcpu: number, en: Uint32Array, w: number, from: number, to: number): number {
    let served = 0;
    for (let half = 0; half < 2; half++) {
      const lane = 2 * w + half;
      const base = half * 32;
      const range = bitRange(Math.max(0, from - base), Math.min(32, to - base));
      if (range === 0) continue;
      let bits = this.pendingLanes[lane]! & ~this.maskLanes[lane]! & en[lane]! & range;
      while (bits !== 0) {
        const bit = lowestSetBit(bits);
        bits &= bits - 1;
        const port = (lane << 5) | bit;
        const m = 1 << bit;
        if (this.atomic) Atomics.and(this.pendingLanes, lane, ~m);
        else this.pendingLanes[lane]! &= ~m;
        this.scanStart[vcpu] = (port + 1) & PORT_MASK;
        this.servePort(port, vcpu);
        served++;
      }
    }
    return served;
  }
}
