import type { Domain } from './domain.js';
import type { LapicIsr } from './guest-timers.js';
import { HypervisorError, type Hypervisor } from './hypervisor.js';
import { registerTriggerHandlers, type AcpiButton } from './triggers.js';

/**
 * What a guest reaches that is not a hypercall: its own memory (loads and stores), the
 * emulated hardware of its platform (the local APIC timer, xenemu's emulated event
 * sources) and the scheduler's accounting of the time its vCPUs ran. Kept apart from
 * Hypercalls so that the hypercall surface carries the operations Xen has and nothing
 * else.
 */
export class EmulatedPlatform {
  constructor(
    private readonly hv: Hypervisor,
    readonly domid: number,
  ) {}

  private get domain(): Domain {
    return this.hv.get(this.domid);
  }

  /**
   * The HVM guest's ACPI SCI handler: the emulated PM1a block raises it for a
   * fixed-event button (`xl trigger power|sleep`).
   */
  setAcpiSciHandler(handler: ((button: AcpiButton) => void) | undefined): void {
    registerTriggerHandlers(this.domain, { acpiButton: handler }, this.hv.clock);
  }

  /** The guest's own frame at `gfn`, as its loads and stores reach it. */
  page(gfn: number): Uint8Array {
    return this.domain.memory.page(gfn);
  }

  /**
   * The guest stored into its frame `gfn`. Xen learns of a guest's writes in log-dirty
   * mode from the write faults its shadow page tables take; an emulated guest's stores
   * are plain JavaScript, so its kernel says so after writing a page. Pages others hold
   * writable (rings a backend maps, a registered vcpu_info) need not be reported: the
   * last round of a migration sends them anyway (XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL).
   */
  stored(gfn: number): void {
    this.domain.memory.markDirty(gfn);
  }

  /**
   * Account time the emulated vCPU spent running guest code (its runstate time, what
   * `xl list` and `xl vcpu-list` show).
   */
  chargeCpuTime(vcpu: number, ns: number): void {
    const v = this.domain.vcpus[vcpu];
    // Whole nanoseconds, as Xen's runstate times are.
    if (v !== undefined) v.cpuTimeNs += Math.round(ns);
  }

  /**
   * The emulated local APIC timer of an HVM vCPU in periodic mode: its interrupt is a
   * vector injected into that vCPU, not an event channel. Guests without per-vCPU
   * event channels (the INTx callback) use it, as FreeBSD falls back from the Xen PV
   * timer to the LAPIC timer.
   */
  startLapicTimer(vcpu: number, periodNs: number, isr: LapicIsr): void {
    const d = this.domain;
    if (d.type === 'pv') throw new HypervisorError('EINVAL', `domain ${d.domid} is PV: it has no local APIC`);
    if (d.vcpus[vcpu] === undefined) throw new HypervisorError('ENOENT', `domain ${d.domid} has no vCPU ${vcpu}`);
    d.timers!.startLapic(vcpu, periodNs, isr);
  }

  stopLapicTimer(vcpu: number): void {
    this.domain.timers!.stopLapic(vcpu);
  }

  /**
   * A xenemu emulated device that raises this domain's `port` at `perSecond` events
   * per second (xenemu.events in the domain config, until real block and network
   * devices exist). Like a device with interrupt moderation it posts its events and
   * raises the port once per batch; the guest's handler takes the count of posted
   * events (eventSourceTake), so no event goes uncounted when raises coalesce.
   */
  attachEventSource(port: number, perSecond: number): void {
    const d = this.domain;
    d.evtchn!.channel(port);
    d.timers!.attachSource(port, perSecond);
  }

  detachEventSource(port: number): void {
    this.domain.timers!.detachSource(port);
  }

  /** The events the device on `port` posted since the last call (its status register, read and cleared). */
  eventSourceTake(port: number): number {
    return this.domain.timers!.takeSource(port);
  }
}
