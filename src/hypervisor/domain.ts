import { HVM_PARAM, XEN_LEGACY_MAX_VCPUS } from '../abi/constants.js';
import type { EventChannelTable, SavedEventChannels } from './evtchn.js';
import { ForeignMaps } from './foreign-map.js';
import type { GrantTable, SavedGrantTable } from './gnttab.js';
import type { GuestTimers, SavedTimers } from './guest-timers.js';
import { GuestMemory, type SavedMemory } from './memory.js';
import { DEFAULT_DOMAIN_SCHED, RTDS_DEFAULT_VCPU, type DomainSchedParams, type RtdsVcpuParams } from './scheduler.js';
import { XenemuError } from '../common/errors.js';

export type DomainType = 'pv' | 'pvh' | 'hvm';

/** SCHEDOP_shutdown reasons (public/sched.h; the codes are abi's SHUTDOWN), by name. */
export type ShutdownReason = 'poweroff' | 'reboot' | 'suspend' | 'crash' | 'watchdog' | 'soft_reset';

/** Where a vCPU's vcpu_info lives: a slot of shared_info, or a frame the guest registered. */
export type VcpuInfoPlace = { kind: 'shared_info'; slot: number } | { kind: 'registered'; gfn: number; offset: number };

/** A vCPU as saved. */
export interface SavedVcpu {
  id: number;
  online: boolean;
  hardAffinity: number[] | null;
  softAffinity: number[] | null;
  cpuTimeNs: number;
  pcpu: number;
  running: boolean;
  vcpuInfo: VcpuInfoPlace;
}

/**
 * A domain as saved: plain data and page contents, nothing that points into a live
 * hypervisor (no clock readings: its age instead of its creation time; no host frame
 * numbers). Every object that holds state the guest can see is in it: identity,
 * memory accounting and contents, vCPUs (affinity, online, where their vcpu_info is),
 * run and shutdown state, the shared_info page (Xen's own frame, with the event
 * pending and mask bits), HVM params, event channels, grant table and timers.
 */
export interface SavedDomain {
  domid: number;
  name: string;
  uuid: string;
  type: DomainType;
  maxKiB: number;
  targetKiB: number;
  pauseCount: number;
  shutdownReason: ShutdownReason | null;
  /** How long it had existed, on the hypervisor clock (ns). */
  ageNs: number;
  sharedInfo: Uint8Array;
  sharedInfoGfn: number;
  /** HVM params by index; values as decimal strings (they are 64-bit). */
  hvmParams: Array<{ index: number; value: string }>;
  vcpus: SavedVcpu[];
  memory: SavedMemory;
  evtchn: SavedEventChannels;
  grantTable: SavedGrantTable;
  timers: SavedTimers;
}

export class VCpu {
  online = false;
  /** Physical CPUs it may run on (null: all), and prefers (null: all). */
  hardAffinity: number[] | null = null;
  softAffinity: number[] | null = null;
  /** Guest time the emulated vCPU has spent running, in ns. */
  cpuTimeNs = 0;
  /** The physical CPU it last ran on. */
  pcpu = 0;
  running = false;
  vcpuInfo: VcpuInfoPlace;
  /** Its RTDS period, budget and extra time (struct rt_unit), set through Domctl. */
  rtds: RtdsVcpuParams = { ...RTDS_DEFAULT_VCPU };

  constructor(readonly id: number) {
    this.vcpuInfo = id < XEN_LEGACY_MAX_VCPUS ? { kind: 'shared_info', slot: id } : { kind: 'registered', gfn: -1, offset: 0 };
  }

  /** Whether the vCPU has somewhere to receive events (vCPUs ≥ 32 must register first). */
  get hasVcpuInfo(): boolean {
    return this.vcpuInfo.kind === 'shared_info' || this.vcpuInfo.gfn >= 0;
  }
}

export interface DomainSpec {
  domid: number;
  name: string;
  uuid: string;
  type: DomainType;
  /** Memory at creation and the most it may ever have (KiB). */
  memoryKiB: number;
  maxMemKiB: number;
  maxVcpus: number;
  onlineVcpus: number;
  /** Ports the domain may use (xl.cfg max_event_channels). */
  maxEventChannels?: number;
  /** Grant table frames it may grow to, and maptrack frames for its own mappings (xl.cfg max_grant_frames, max_maptrack_frames). */
  maxGrantFrames?: number;
  maxMaptrackFrames?: number;
}

/**
 * A domain as the hypervisor knows it: identity, memory, vCPUs, run state. The pieces
 * a guest sees (shared_info, event channels) are attached by the hypervisor.
 */
export class Domain {
  readonly domid: number;
  name: string;
  readonly uuid: string;
  readonly type: DomainType;
  readonly memory: GuestMemory;
  /** Xen's max_pages: the allocation limit mem-max sets (KiB). */
  maxKiB: number;
  /** The balloon target the toolstack last set (KiB). */
  targetKiB: number;
  readonly vcpus: VCpu[];
  /** Pause count: the domain runs only at 0 (xl pause / unpause nest like Xen's). */
  pauseCount = 0;
  shutdownReason: ShutdownReason | null = null;
  dying = false;
  /** When it was created, on the hypervisor clock (ns). */
  readonly createdAtNs: number;
  /** The shared_info frame: Xen's own page, mapped into the guest at `sharedInfoGfn`. */
  readonly sharedInfo = new Uint8Array(4096);
  sharedInfoGfn = -1;
  /** Event channels (set up by the hypervisor when it creates the domain). */
  evtchn: EventChannelTable | null = null;
  /** Its grant table: what it grants, and what it mapped of others (set up with the domain). */
  grantTable: GrantTable | null = null;
  /** The timers it armed (vCPU periodic timers, LAPIC timers, emulated event sources; set up with the domain). */
  timers: GuestTimers | null = null;
  /** Frames of other domains it mapped by frame number (a privileged domain's privcmd mappings). */
  readonly foreignMaps = new ForeignMaps();
  /** HVM params the domain builder sets (HVM_PARAM_STORE_PFN, ...), for HVM and PVH guests. */
  readonly hvmParams = new Map<number, bigint>();
  /** Its credit / credit2 weight and cap (struct csched_dom), which the toolstack sets through Domctl. */
  sched: DomainSchedParams = { ...DEFAULT_DOMAIN_SCHED };

  constructor(spec: DomainSpec, nowNs: number, memory?: GuestMemory) {
    this.domid = spec.domid;
    this.name = spec.name;
    this.uuid = spec.uuid;
    this.type = spec.type;
    const pages = Math.ceil(spec.memoryKiB / 4);
    const maxPages = Math.ceil(spec.maxMemKiB / 4);
    this.memory = memory ?? new GuestMemory(maxPages, pages);
    this.maxKiB = spec.maxMemKiB;
    this.targetKiB = spec.memoryKiB;
    this.vcpus = Array.from({ length: spec.maxVcpus }, (_, i) => new VCpu(i));
    for (let i = 0; i < spec.onlineVcpus; i++) this.vcpus[i]!.online = true;
    this.createdAtNs = nowNs;
  }

  /** Hyper-V enlightenments on (HVM_PARAM_VIRIDIAN, which libxl sets): Xen's CPUID leaves move up to 0x40000100. */
  get viridian(): boolean {
    return (this.hvmParams.get(HVM_PARAM.VIRIDIAN) ?? 0n) !== 0n;
  }

  /** Everything about the domain (see SavedDomain); a dying domain cannot be saved. */
  save(nowNs: number, options: { pagesInPlace?: boolean } = {}): SavedDomain {
    if (this.dying) throw new XenemuError('EINVAL', `domain ${this.domid} is dying: there is nothing left to save`);
    return {
      domid: this.domid,
      name: this.name,
      uuid: this.uuid,
      type: this.type,
      maxKiB: this.maxKiB,
      targetKiB: this.targetKiB,
      pauseCount: this.pauseCount,
      shutdownReason: this.shutdownReason,
      ageNs: nowNs - this.createdAtNs,
      sharedInfo: this.sharedInfo.slice(),
      sharedInfoGfn: this.sharedInfoGfn,
      hvmParams: [...this.hvmParams].map(([index, value]) => ({ index, value: value.toString() })),
      vcpus: this.vcpus.map((v) => ({
        id: v.id,
        online: v.online,
        hardAffinity: v.hardAffinity === null ? null : [...v.hardAffinity],
        softAffinity: v.softAffinity === null ? null : [...v.softAffinity],
        cpuTimeNs: v.cpuTimeNs,
        pcpu: v.pcpu,
        running: v.running,
        vcpuInfo: { ...v.vcpuInfo },
      })),
      memory: this.memory.save({ inPlace: options.pagesInPlace === true }),
      evtchn: this.evtchn!.save(),
      grantTable: this.grantTable!.save(),
      timers: this.timers!.save(),
    };
  }

  /**
   * The domain's own part of a save: identity, memory, vCPUs, run state, shared_info,
   * HVM params. Its event channels, grant table and timers need the hypervisor, which
   * loads them next (Hypervisor.loadDomains).
   */
  static load(saved: SavedDomain, nowNs: number): Domain {
    const memory = GuestMemory.load(saved.memory);
    const d = new Domain(
      {
        domid: saved.domid,
        name: saved.name,
        uuid: saved.uuid,
        type: saved.type,
        memoryKiB: saved.memory.reservation * 4,
        maxMemKiB: saved.memory.maxPages * 4,
        maxVcpus: saved.vcpus.length,
        onlineVcpus: 0,
      },
      nowNs - saved.ageNs,
      memory,
    );
    d.maxKiB = saved.maxKiB;
    d.targetKiB = saved.targetKiB;
    d.pauseCount = saved.pauseCount;
    d.shutdownReason = saved.shutdownReason;
    if (saved.sharedInfo.length !== d.sharedInfo.length) throw new XenemuError('EINVAL', `saved shared_info of domain ${saved.domid} is ${saved.sharedInfo.length} bytes, not ${d.sharedInfo.length}`);
    d.sharedInfo.set(saved.sharedInfo);
    d.sharedInfoGfn = saved.sharedInfoGfn;
    for (const p of saved.hvmParams) d.hvmParams.set(p.index, BigInt(p.value));
    saved.vcpus.forEach((s, i) => {
      const v = d.vcpus[i]!;
      if (s.id !== i) throw new XenemuError('EINVAL', `saved vCPU ${i} of domain ${saved.domid} says it is vCPU ${s.id}`);
      v.online = s.online;
      v.hardAffinity = s.hardAffinity === null ? null : [...s.hardAffinity];
      v.softAffinity = s.softAffinity === null ? null : [...s.softAffinity];
      v.cpuTimeNs = s.cpuTimeNs;
      v.pcpu = s.pcpu;
      v.running = s.running;
      v.vcpuInfo = { ...s.vcpuInfo };
    });
    return d;
  }

  get paused(): boolean {
    return this.pauseCount > 0;
  }

  get currentKiB(): number {
    return this.memory.reservation * 4;
  }

  get onlineVcpus(): number {
    return this.vcpus.filter((v) => v.online).length;
  }

  get cpuTimeNs(): number {
    return this.vcpus.reduce((sum, v) => sum + v.cpuTimeNs, 0);
  }
}
