import { checkRegisterVcpuInfo, DOMID, GNTST, VcpuInfoView } from '../abi/index.js';
import { hypervisorCpuid, type CpuidResult } from './cpuid.js';
import type { Domain, ShutdownReason } from './domain.js';
import type { ChannelStatus, GuestEventChannels } from './evtchn.js';
import type { ForeignMapping } from './foreign-map.js';
import { copy, mapGrantRef, unmapGrantRef, type GnttabCopy, type GnttabMapGrantRef, type GnttabMapResult } from './gnttab.js';
import { HypervisorError, type Hypervisor, type UpcallHandler } from './hypervisor.js';
import { EmulatedPlatform } from './platform.js';
import { registerTriggerHandlers } from './triggers.js';

/** VCPUOP_set_periodic_timer refuses periods below 1 ms (xen/common/domain.c). */
export const MIN_PERIODIC_TIMER_NS = 1e6;

/**
 * A domain's way into the hypervisor: what its kernel reaches through the hypercall
 * page (and CPUID). Every call acts as this domain; failures throw HypervisorError
 * with the errno name Xen would return.
 */
export class Hypercalls {
  /** What the guest reaches without a hypercall: its memory, its emulated hardware, its CPU time accounting. */
  readonly platform: EmulatedPlatform;

  constructor(
    private readonly hv: Hypervisor,
    readonly domid: number,
  ) {
    this.platform = new EmulatedPlatform(hv, domid);
  }

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
    // Events notified to it while it was down are waiting in its vcpu_info.
    this.hv.kickPending(this.domain);
  }

  vcpuDown(vcpu: number): void {
    const v = this.domain.vcpus[vcpu];
    if (v === undefined) throw new HypervisorError('ENOENT', `no vCPU ${vcpu}`);
    if (vcpu === 0) throw new HypervisorError('EBUSY', 'vCPU 0 cannot go offline');
    // The guest's own CPU-offline path runs first: it moves its interrupts to other
    // vCPUs and stops the timer of the one going down (Linux's take_cpu_down and
    // fixup_irqs). The hook stands for that guest code.
    this.beforeVcpuDown?.(vcpu);
    v.online = false;
  }

  /** The guest's CPU-offline work, run before VCPUOP_down takes the vCPU away. */
  beforeVcpuDown: ((vcpu: number) => void) | null = null;

  /** SCHEDOP_shutdown. */
  shutdown(reason: ShutdownReason): void {
    this.hv.shutdown(this.domid, reason);
  }

  /**
   * CALLBACKOP_register(CALLBACKTYPE_nmi): where the guest takes an NMI (`xl trigger
   * nmi`). An HVM guest's is its IDT entry; the model is the same.
   */
  registerNmiCallback(handler: ((vcpu: number) => void) | undefined): void {
    registerTriggerHandlers(this.domain, { nmi: handler }, this.hv.clock);
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
    // Nor beyond the frame space the domain was built with (its boot-time maxmem).
    const frames = d.memory.maxPages - d.memory.reservation;
    const n = Math.max(0, Math.min(count, room, free, frames));
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

  /** Where the guest registers its event callback (set_callbacks / HVM callback). */
  setUpcallHandler(handler: UpcallHandler | null): void {
    this.hv.setUpcallHandler(this.domid, handler);
  }

  /** This domain's event channel operations (EVTCHNOP_*) on its own ports. */
  get evtchn(): GuestEventChannels {
    return this.domain.evtchn!;
  }

  // ------------------------------------------------------------- EVTCHNOP with a domain argument

  /** DOMID_SELF means the caller. */
  private resolve(dom: number): number {
    return dom === DOMID.SELF ? this.domid : dom;
  }

  /**
   * XSM_TARGET (the default dummy policy): a domain may act on itself; acting on another
   * domain takes a privileged domain (dom0). Xen answers EPERM otherwise.
   */
  private target(dom: number, op: string): Domain {
    const domid = this.resolve(dom);
    const d = this.hv.get(domid); // ESRCH
    if (!this.mayTarget(domid)) throw new HypervisorError('EPERM', `domain ${this.domid} may not ${op} for domain ${domid} (only a privileged domain may)`);
    return d;
  }

  /** EVTCHNOP_alloc_unbound{dom, remote_dom}: a port in `dom` that `remoteDom` may bind. */
  evtchnAllocUnbound(dom: number, remoteDom: number): number {
    const d = this.target(dom, 'allocate event channels');
    return d.evtchn!.allocUnbound(remoteDom === DOMID.SELF ? this.domid : remoteDom);
  }

  /** Whether this domain may act on `domid` (XSM_TARGET under the dummy policy: itself, or it is privileged). */
  private mayTarget(domid: number): boolean {
    return domid === this.domid || this.domid === 0;
  }

  /** EVTCHNOP_bind_interdomain{remote_dom, remote_port}: a local port connected to theirs. */
  evtchnBindInterdomain(remoteDom: number, remotePort: number): number {
    return this.evtchn.bindInterdomain(this.resolve(remoteDom), remotePort);
  }

  /** EVTCHNOP_status{dom, port}. */
  evtchnStatus(dom: number, port: number): ChannelStatus {
    return this.target(dom, 'read event channel status').evtchn!.status(port);
  }

  /** EVTCHNOP_reset{dom}: close all of a domain's ports. */
  evtchnReset(dom: number): void {
    this.target(dom, 'reset event channels').evtchn!.reset();
  }

  /**
   * EVTCHNOP_bind_pirq. xenemu passes no physical devices through, so no domain has
   * access to a physical IRQ: Xen's answer to a PV guest without irq access is EPERM.
   */
  evtchnBindPirq(pirq: number): number {
    throw new HypervisorError('EPERM', `domain ${this.domid} has no access to physical IRQ ${pirq} (xenemu passes no physical devices through)`);
  }

  // ------------------------------------------------------------- GNTTABOP (grant_table_op)

  /**
   * GNTTABOP_setup_table{dom, nr_frames}: grow `dom`'s grant table to at least
   * `nrFrames` frames and return the first `nrFrames` frame numbers. A guest reaches
   * the frames through grantTableFrame and writes its entries there (GrantTableV1).
   */
  gnttabSetupTable(nrFrames: number, dom: number = DOMID.SELF): { status: number; frameList: number[] } {
    const d = this.hv.grantDomain(this.resolve(dom));
    if (d === undefined || d.dying) return { status: GNTST.bad_domain, frameList: [] };
    if (!this.mayTarget(d.domid)) return { status: GNTST.permission_denied, frameList: [] };
    const gt = d.grantTable!;
    if (!Number.isInteger(nrFrames) || nrFrames < 0 || !gt.grow(nrFrames)) return { status: GNTST.general_error, frameList: [] };
    return { status: GNTST.okay, frameList: gt.frameList(nrFrames) };
  }

  /** GNTTABOP_query_size{dom}: the table's current and maximum frames. */
  gnttabQuerySize(dom: number = DOMID.SELF): { status: number; nrFrames: number; maxNrFrames: number } {
    const d = this.hv.grantDomain(this.resolve(dom));
    if (d === undefined || d.dying) return { status: GNTST.bad_domain, nrFrames: 0, maxNrFrames: 0 };
    if (!this.mayTarget(d.domid)) return { status: GNTST.permission_denied, nrFrames: 0, maxNrFrames: 0 };
    return { status: GNTST.okay, nrFrames: d.grantTable!.nrFrames, maxNrFrames: d.grantTable!.maxFrames };
  }

  /**
   * The guest's mapping of one of its grant-table frames, by the number setup_table
   * gave (a PV guest points a page-table entry at it; an HVM guest places it with
   * XENMEM_add_to_physmap, XENMAPSPACE_grant_table).
   */
  grantTableFrame(mfn: number): Uint8Array {
    const f = this.domain.grantTable!.frameAt(mfn);
    if (f === undefined) throw new HypervisorError('EINVAL', `frame 0x${mfn.toString(16)} is not one of domain ${this.domid}'s grant-table frames`);
    return f;
  }

  /**
   * GNTTABOP_map_grant_ref: map other domains' grants (each op gets its own status;
   * `page` is the mapping, `handle` what unmaps it). With GNTMAP_readonly the mapper
   * must only read the page: the emulation cannot make a view read-only, so that is
   * the backend's promise, as it is the Linux driver's.
   */
  gnttabMapGrantRef(ops: readonly GnttabMapGrantRef[]): GnttabMapResult[] {
    const d = this.domain;
    return ops.map((op) => mapGrantRef(this.hv, d, op));
  }

  /** GNTTABOP_unmap_grant_ref: the mappings these handles track go; a status per handle. */
  gnttabUnmapGrantRef(handles: readonly number[]): number[] {
    const d = this.domain;
    return handles.map((h) => unmapGrantRef(this.hv, d, h));
  }

  /** GNTTABOP_copy: copies between granted pages and this domain's frames; a status per op. */
  gnttabCopy(ops: readonly GnttabCopy[]): number[] {
    const d = this.domain;
    return ops.map((op) => copy(this.hv, d, op));
  }

  // ------------------------------------------------------------- foreign mappings (privcmd)

  /**
   * Map frames of domain `dom` by number (privcmd's MMAPBATCH: XENMEM_add_to_physmap_batch
   * with XENMAPSPACE_gmfn_foreign). Only a domain privileged over `dom` may (EPERM);
   * every frame must be one of the domain's (EINVAL, and nothing is mapped). Each page
   * holds a reference until unmapForeignFrames, or until this domain dies.
   */
  mapForeignFrames(dom: number, gfns: readonly number[]): ForeignMapping {
    const d = this.target(dom, 'map the frames');
    const bad = gfns.find((g) => !d.memory.inRange(g));
    if (bad !== undefined) throw new HypervisorError('EINVAL', `gfn ${bad} is not a frame of domain ${d.domid}`);
    return this.domain.foreignMaps.add(d.domid, [...gfns], gfns.map((g) => d.memory.getPage(g)));
  }

  /** Undo a mapForeignFrames. */
  unmapForeignFrames(handle: number): void {
    const m = this.domain.foreignMaps.remove(handle);
    if (m === undefined) throw new HypervisorError('EINVAL', `domain ${this.domid} has no foreign mapping ${handle}`);
    this.hv.releaseForeignMapping(m);
  }

  // ------------------------------------------------------------- HVM callback

  /** HVMOP_set_param (HVM_PARAM_CALLBACK_IRQ selects how upcalls are delivered). */
  setHvmParam(index: number, value: bigint): void {
    this.hv.setHvmParam(this.domid, index, value);
  }

  // ------------------------------------------------------------- timers

  /**
   * VCPUOP_set_periodic_timer: VIRQ_TIMER on `vcpu` every `periodNs` (Xen refuses
   * periods under 1 ms with EINVAL). Expiries are coalesced to the host's timer slop;
   * the guest counts the periods that passed from its clock.
   */
  setPeriodicTimer(vcpu: number, periodNs: number): void {
    if (periodNs < MIN_PERIODIC_TIMER_NS) throw new HypervisorError('EINVAL', `periodic timer period ${periodNs} ns is below Xen's 1 ms minimum`);
    this.startVcpuTimer(vcpu, periodNs);
  }

  /**
   * A tick faster than 1 kHz: the guest re-arms VCPUOP_set_singleshot_timer at every
   * tick. Modelled as the same coalesced periodic expiry, which is what it amounts to.
   */
  setSingleshotTickTimer(vcpu: number, periodNs: number): void {
    if (!(periodNs > 0)) throw new HypervisorError('EINVAL', `timer period ${periodNs} ns`);
    this.startVcpuTimer(vcpu, periodNs);
  }

  private startVcpuTimer(vcpu: number, periodNs: number): void {
    const d = this.domain;
    if (d.vcpus[vcpu] === undefined) throw new HypervisorError('ENOENT', `domain ${d.domid} has no vCPU ${vcpu}`);
    d.timers!.startVcpu(vcpu, periodNs);
  }

  /** VCPUOP_stop_periodic_timer. */
  stopPeriodicTimer(vcpu: number): void {
    this.domain.timers!.stopVcpu(vcpu);
  }
}
