import { checkRegisterVcpuInfo, VcpuInfoView } from '../abi/index.js';
import { hypervisorCpuid, type CpuidResult } from './cpuid.js';
import type { Domain, ShutdownReason } from './domain.js';
import { HypervisorError, type Hypervisor, type UpcallHandler } from './hypervisor.js';

/**
 * A domain's way into the hypervisor: what its kernel reaches through the hypercall
 * page (and CPUID). Every call acts as this domain; failures throw HypervisorError
 * with the errno name Xen would return.
 */
export class Hypercalls {
  constructor(
    private readonly hv: Hypervisor,
    readonly domid: number,
  ) {}

  private get domain(): Domain {
    return this.hv.get(this.domid);
  }

  /** CPUID as the guest executes it (only the hypervisor leaves are emulated). */
  cpuid(leaf: number): CpuidResult {
    return hypervisorCpuid(leaf >>> 0, this.hv.host, this.domain.viridian);
  }

  /** XENVER_version and XENVER_extraversion. */
  xenVersion(): { major: number; minor: number; extra: string } {
    const h = this.hv.host;
    return { major: h.xenMajor, minor: h.xenMinor, extra: h.xenExtra };
  }

  /** The guest's own frame at `gfn`. */
  page(gfn: number): Uint8Array {
    return this.domain.memory.page(gfn);
  }

  /**
   * The shared_info frame. A PV guest finds it through start_info; an HVM/PVH guest
   * places it in its physmap first (XENMEM_add_to_physmap, XENMAPSPACE_shared_info).
   */
  mapSharedInfo(gfn: number): Uint8Array {
    this.domain.sharedInfoGfn = gfn;
    return this.domain.sharedInfo;
  }

  /** HVMOP_get_param: where an HVM/PVH guest finds its xenstore and console pages. */
  hvmParam(index: number): bigint {
    const v = this.domain.hvmParams.get(index);
    if (v === undefined) throw new HypervisorError('EINVAL', `HVM param ${index} is not set`);
    return v;
  }

  /**
   * VCPUOP_register_vcpu_info: vCPU `vcpu` takes its vcpu_info at `offset` in frame
   * `gfn` from now on. Allowed once per vCPU; the offset must be 8-aligned with room
   * for the 64-byte structure (Xen 4.17 answers EINVAL otherwise).
   */
  registerVcpuInfo(vcpu: number, gfn: number, offset: number): void {
    const d = this.domain;
    const v = d.vcpus[vcpu];
    if (v === undefined) throw new HypervisorError('ENOENT', `domain ${d.domid} has no vCPU ${vcpu}`);
    if (v.vcpuInfo.kind === 'registered' && v.vcpuInfo.gfn >= 0) throw new HypervisorError('EINVAL', `vCPU ${vcpu} already registered its vcpu_info`);
    if (checkRegisterVcpuInfo({ offset }) !== undefined) throw new HypervisorError('EINVAL', `bad vcpu_info offset ${offset}`);
    const view = new VcpuInfoView(d.memory.page(gfn), offset);
    d.evtchn!.registerVcpuInfo(vcpu, view);
    v.vcpuInfo = { kind: 'registered', gfn, offset };
  }

  /** VCPUOP_up / VCPUOP_down: bring a vCPU online or take it offline. */
  vcpuUp(vcpu: number): void {
    const v = this.domain.vcpus[vcpu];
    if (v === undefined) throw new HypervisorError('ENOENT', `no vCPU ${vcpu}`);
    if (!v.hasVcpuInfo) throw new HypervisorError('EINVAL', `vCPU ${vcpu} has no vcpu_info; register one first`);
    v.online = true;
  }

  vcpuDown(vcpu: number): void {
    const v = this.domain.vcpus[vcpu];
    if (v === undefined) throw new HypervisorError('ENOENT', `no vCPU ${vcpu}`);
    if (vcpu === 0) throw new HypervisorError('EBUSY', 'vCPU 0 cannot go offline');
    v.online = false;
  }

  /** SCHEDOP_shutdown. */
  shutdown(reason: ShutdownReason): void {
    this.hv.shutdown(this.domid, reason);
  }

  /** CONSOLEIO_write: a line on the hypervisor console (what `xl dmesg` shows). */
  consoleWrite(text: string): void {
    for (const line of text.split('\n')) if (line !== '') this.hv.log(`(d${this.domid}) ${line}`);
  }

  /**
   * XENMEM_decrease_reservation: give frames back (the balloon inflating). Returns how
   * many were released.
   */
  decreaseReservation(gfns: readonly number[]): number {
    this.domain.memory.release(gfns);
    return gfns.length;
  }

  /**
   * XENMEM_populate_physmap: take up to `count` frames back, within the domain's Xen
   * limit (max_pages) and the host's free memory. Returns how many it got.
   */
  populatePhysmap(count: number): number {
    const d = this.domain;
    const room = Math.floor((d.maxKiB - d.currentKiB) / 4);
    const free = Math.floor(this.hv.freeKiB / 4);
    const n = Math.max(0, Math.min(count, room, free));
    d.memory.populate(n);
    return n;
  }

  /** The domain's populated frames (what XENMEM_current_reservation returns). */
  currentPages(): number {
    return this.domain.memory.reservation;
  }

  /** VCPUOP_is_up. */
  vcpuOnline(vcpu: number): boolean {
    return this.domain.vcpus[vcpu]?.online ?? false;
  }

  /**
   * Account time the emulated vCPU spent running guest code (its runstate time, what
   * `xl list` and `xl vcpu-list` show).
   */
  chargeCpuTime(vcpu: number, ns: number): void {
    const v = this.domain.vcpus[vcpu];
    if (v !== undefined) v.cpuTimeNs += ns;
  }

  /** Where the guest registers its event callback (set_callbacks / HVM callback). */
  setUpcallHandler(handler: UpcallHandler | null): void {
    this.hv.setUpcallHandler(this.domid, handler);
  }

  /** This domain's event channel operations (EVTCHNOP_*). */
  get evtchn(): NonNullable<Domain['evtchn']> {
    return this.domain.evtchn!;
  }
}

