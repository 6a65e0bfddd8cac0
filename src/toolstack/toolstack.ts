import { randomUUID } from 'node:crypto';
import { XsRequestError, type XsClient } from '../protocol/xs-client.js';
import type { FaultConfig } from '../faults/config.js';
import type { BlkFaults } from '../faults/disk-faults.js';
import { withTimeout, type Clock } from '../hypervisor/clock.js';
import type { Domain, SavedDomain, ShutdownReason } from '../hypervisor/domain.js';
import { Domctl } from '../hypervisor/domctl.js';
import { Hypercalls } from '../hypervisor/hypercalls.js';
import { type DomainEvent, HypervisorError, type Hypervisor } from '../hypervisor/hypervisor.js';
import type { DomainTrigger } from '../hypervisor/triggers.js';
import { Kernel } from '../kernel/kernel.js';
import type { NetbackEvent } from '../kernel/net/netback.js';
import { XsType } from '../protocol/xs-wire.js';
import type { DiskSpec, DomainConfig, StoredGivenKeys, VifSpec, VifSpecInput } from './config/index.js';
import { checkConfig, decodeVdev, finishVif, domainNameProblem, expandCpuList, formatPath, kernelCommandLine, PLAIN_WORDING } from './config/index.js';
import { buildDomain, pvSharedInfoMfn, restoreSpecialPages, type BuiltDomain } from './domain-builder.js';
import { pageBoundFor, type DeclaredMemory } from './migrate/admission.js';
import type { DomainImage } from './migrate/image.js';
import { savedForNewDomain } from './migrate/new-domain.js';
import type { PageBound } from './migrate/stream-reader.js';
import { captureStoreHome, writeStoreHome } from './migrate/store-home.js';
import type { KernelState } from '../kernel/saved.js';
import { ToolstackError } from './errors.js';
import { removeDomainLayout, writeConsoleLayout, writeDomainLayout, type LayoutInfo } from './xenstore-layout.js';
import type { DeviceDeps } from './devices/device-flow.js';
import { changeMedium, findCdrom, withMedium } from './devices/cdrom.js';
import { attachDisk, detachDisk, findDisk, listDisks } from './devices/disks.js';
import { attachNic, detachNic, findNic, listNics, nicDevids } from './devices/nics.js';
import type { NicInfo } from './devices/vif.js';
import type { VbdInfo } from './devices/vbd.js';
import { domainQualifier } from './libxl/qualifier.js';
import type { DomainSchedParams, WeightedScheduler } from '../hypervisor/scheduler.js';
import { domainSchedParamsSet, rtdsVcpuSet, type LibxlRtdsVcpu } from './sched.js';

/** What the toolstack keeps per guest, and persists so the guest comes back after a restart. */
export interface DomainRecord {
  domid: number;
  uuid: string;
  name: string;
  config: DomainConfig;
  /** Where the config came from (for `list -l` and messages), if from a file. */
  source?: string;
  /** What its xl.cfg spelled out, for `list -l` to print what `create -n` did (absent: a YAML config, or an older record). */
  given?: StoredGivenKeys;
  /** What xl commands changed since create; a restart brings the domain back so. */
  changed?: DomainChanges;
}

/** The xl changes to a running domain that a restart keeps (each absent until made). */
export interface DomainChanges {
  /** xl pause / unpause. */
  paused?: boolean;
  /** xl mem-set: memory/target, KiB. */
  targetKiB?: number;
  /** xl mem-max: memory/static-max, KiB. */
  maxKiB?: number;
  /** xl vcpu-set: how many vCPUs are online. */
  onlineVcpus?: number;
  /** xl vcpu-pin: each vCPU's hard and soft affinity (null: every pCPU). */
  affinity?: Array<{ hard: number[] | null; soft: number[] | null }>;
  /** xl sched-credit / sched-credit2 -w / -c: the weight and cap the domain has since. */
  sched?: DomainSchedParams;
  /** xl sched-rtds -v: each vCPU's RTDS period, budget and extra time since (by vCPU number). */
  rtds?: Array<Omit<LibxlRtdsVcpu, 'vcpuid'>>;
}

/** The host services a toolstack drives, all as dom0 would. */
export interface ToolstackDeps {
  hv: Hypervisor;
  clock: Clock;
  /** dom0's xenstore connection (in-process, privileged). */
  xs: XsClient;
  /** The domain xenstored runs in: every guest's xenstore ring is granted to it. */
  storeDomid: number;
  /** The console backend (xenconsoled): every guest's console is granted to its domain. */
  consoles: {
    readonly domid: number;
    attach(domid: number, name: string, gfn: number, port: number): void;
    /** With discardNewConsoleLog, a log file that attach created is removed (a failed create). */
    detach(domid: number, options?: { discardNewConsoleLog?: boolean }): void;
  };
  /** Save / forget a domain record and the domid cursor (persistence). */
  store: {
    save(record: DomainRecord): void;
    forget(domid: number): void;
    saveDomidCursor(next: number): void;
  };
  log: (line: string) => void;
  /** Added to the daemon's environment for hotplug scripts (XENSTORED_PATH, so their xenstore-write reaches this host). */
  hotplugEnv?: Record<string, string>;
  /** Told of each vif a guest's netback (a driver domain's) connects or disconnects. */
  onVif?: (event: NetbackEvent) => void;
  /** Whether dom0 has a bridge of that name (the in-process vif-bridge's check). */
  bridgeExists?: (name: string) => boolean;
  /** Why a vif's capture file cannot be written, or null (checked as the vif is added). */
  captureProblem?: (domid: number, devid: number, capture: string | undefined) => string | null;
  /** Faults made to happen on purpose (`xenemu fault`, `xenemu.faults` in a config). */
  faults?: ToolstackFaults;
  /** Whether a domain's kernel still has a XenBus device at `node` (relative to its home): a cdrom's medium change waits for its drive to be gone. */
  busHas?: (domid: number, node: string) => boolean;
}

/** Where the toolstack meets the faults: what it asks, and what it reports. */
export interface ToolstackFaults {
  /** Whether a guest may ignore shutdown requests now (then each is asked about). */
  armed(): boolean;
  ignoresShutdown(domid: number, command: string): boolean;
  /** How long a guest's kernel waits before it boots (guest-slow-boot); 0: it does not. */
  bootDelayMs(domid: number): number;
  /** The id of the fault that fails this hotplug script run, or null. */
  hotplugFails(domid: number, script: string, action: string): number | null;
  /** A point host-kill can strike at: half-way through a create. */
  at(point: 'create'): void;
  /** Add a domain config's faults, aimed at the domain being built. */
  fromConfig(domid: number, name: string, items: readonly FaultConfig[]): void;
  /** What a driver domain's blkback asks. */
  readonly blk: BlkFaults;
}

/** How long a guest has to acknowledge control/shutdown, as libxl waits. */
export const SHUTDOWN_ACK_TIMEOUT_NS = 60e9;

/** How long a guest that acknowledged a suspend has to suspend (libxl's suspend_common_wait_guest: 60 s). */
export const SUSPEND_TIMEOUT_NS = 60e9;

interface Guest {
  record: DomainRecord;
  built: BuiltDomain;
  kernel: Kernel;
  /** Waiters for this domain to shut down (xl shutdown -w). */
  shutdownWaiters: Array<(reason: ShutdownReason) => void>;
  /** A restored domain's kernel save: its kernel resumes from it (instead of booting) when the domain first runs. */
  resumeFrom?: KernelState;
}

/**
 * The libxl of the emulated host: builds domains from configs (memory, vCPUs, special
 * pages, event channels, the XenStore layout, INTRODUCE), boots their kernels, and
 * runs their lifecycle the xl way (shutdown and reboot through control/shutdown, the
 * on_poweroff / on_reboot / on_crash actions, pause, rename, memory and vCPU changes).
 */
export class Toolstack {
  private readonly guests = new Map<number, Guest>();
  /** Each guest's medium changes, one after the other (as libxl's device lock orders them): two replugs of a drive must not interleave. */
  private readonly mediumChanges = new Map<number, Promise<unknown>>();
  /** Every change the toolstack makes to a domain goes through here. */
  private readonly domctl: Domctl;

  constructor(private readonly deps: ToolstackDeps) {
    this.domctl = new Domctl(deps.hv);
    deps.hv.onDomainEvent((e) => this.onDomainEvent(e));
  }

  /** The guest, by domid or name, or a ToolstackError naming what was asked for. */
  find(ref: string | number): Domain {
    const hv = this.deps.hv;
    if (typeof ref === 'number' || /^[0-9]+$/.test(ref)) {
      const d = hv.domains.get(Number(ref));
      if (d) return d;
    } else {
      for (const d of hv.domains.values()) if (d.name === ref) return d;
    }
    throw new ToolstackError('ESRCH', `${typeof ref === 'number' || /^[0-9]+$/.test(String(ref)) ? 'domain' : 'domain name'} '${ref}' does not exist`);
  }

  record(domid: number): DomainRecord | undefined {
    return this.guests.get(domid)?.record;
  }

  kernel(domid: number): Kernel | undefined {
    return this.guests.get(domid)?.kernel;
  }

  /** Every guest's kernel (driver domains' included). */
  kernels(): Kernel[] {
    return [...this.guests.values()].map((g) => g.kernel);
  }

  /**
   * xl create: build the domain, write its XenStore layout in one transaction, hand
   * it to xenstored (INTRODUCE), attach its console, and unless `paused`, unpause it
   * so its kernel boots. On any failure nothing of the domain is left behind.
   */
  async create(
    config: DomainConfig,
    options: { paused?: boolean; domid?: number; uuid?: string; source?: string; given?: StoredGivenKeys; keepGoingWithoutDisks?: boolean } = {},
  ): Promise<DomainRecord> {
    const { hv } = this.deps;
    for (const d of hv.domains.values()) {
      if (d.name === config.name) throw new ToolstackError('EEXIST', `domain '${config.name}' already exists with ID ${d.domid}`);
    }
    const uuid = options.uuid ?? config.uuid ?? randomUUID();
    for (const d of hv.domains.values()) {
      if (d.uuid === uuid) throw new ToolstackError('EEXIST', `domain ${d.domid} '${d.name}' already has UUID ${uuid}`);
    }
    let built: BuiltDomain;
    try {
      built = buildDomain(this.domctl, {
        name: config.name,
        uuid,
        type: config.type,
        memoryKiB: config.memory * 1024,
        // libxl__build_pre sets the hypervisor's maximum from the target, so a maxmem below
        // memory (which xl takes) still builds memory; maxmem is then only memory/static-max.
        maxMemKiB: Math.max(config.maxmem, config.memory) * 1024,
        // vCPU 0 runs whatever vcpus says (the builder starts it); vcpus = 0 only marks it offline.
        vcpus: Math.max(config.vcpus, 1),
        maxVcpus: config.maxvcpus,
        viridian: config.viridian !== false,
        cmdline: kernelCommandLine(config) ?? '',
        maxEventChannels: config.max_event_channels,
        maxGrantFrames: config.max_grant_frames,
        maxMaptrackFrames: config.max_maptrack_frames,
        storeDomid: this.deps.storeDomid,
        consoleDomid: this.deps.consoles.domid,
        ...(options.domid !== undefined ? { domid: options.domid } : {}),
      });
    } catch (err) {
      throw createFailure(config.name, err);
    } finally {
      // A domid handed out is not handed out again, even by a failed build (as Xen's
      // allocator moves on): the cursor is saved whether or not the build succeeded.
      this.deps.store.saveDomidCursor(hv.domidCursor);
    }
    const domain = built.domain;
    const record: DomainRecord = {
      domid: domain.domid,
      uuid,
      name: config.name,
      config,
      ...(options.source ? { source: options.source } : {}),
      ...(options.given ? { given: options.given } : {}),
      // xl create -p: it stays paused across a restart too, until unpaused.
      ...(options.paused ? { changed: { paused: true } } : {}),
    };
    try {
      applyAffinity(this.domctl, domain, config, hv.host.pcpus);
      // libxl__build_post: the config's cpu_weight and cap, under the pool's scheduler.
      domainSchedParamsSet(this.domctl, hv, domain.domid, { weight: config.cpu_weight, cap: config.cap });
      await this.writeLayout(record, built);
      this.deps.consoles.attach(domain.domid, config.name, built.consoleGfn, built.consolePort);
      const kernel = this.makeKernel(record, built);
      this.guests.set(domain.domid, { record, built, kernel, shutdownWaiters: [] });
      this.deps.store.save(record);
      if (config.xenemu.faults.length > 0) this.deps.faults?.fromConfig(domain.domid, config.name, config.xenemu.faults);
      this.deps.faults?.at('create');
      // libxl__add_disks, after the console: each disk's nodes, its backend's InitWait
      // and its hotplug script, before the guest runs.
      const dropped: number[] = [];
      for (const disk of config.disk) {
        try {
          await this.attachDiskNodes(domain.domid, disk);
        } catch (err) {
          // A rebuilt domain comes back without a disk that no longer attaches (its image
          // gone, say), as a restart drops other changes that no longer apply.
          if (options.keepGoingWithoutDisks !== true) throw err;
          this.deps.log(`domain ${domain.domid} '${config.name}' comes back without its disk ${disk.vdev}: ${(err as Error).message}`);
          dropped.push(disk.devid);
        }
      }
      if (dropped.length > 0) this.setDisks(domain.domid, config.disk.filter((d) => !dropped.includes(d.devid)));
      // libxl__add_nics, after the disks; a rebuilt domain comes back without a vif that no
      // longer attaches (its backend domain gone, say), as without such a disk.
      const droppedVifs: number[] = [];
      for (const vif of config.vif) {
        try {
          await this.attachNicNodes(domain.domid, vif);
        } catch (err) {
          if (options.keepGoingWithoutDisks !== true) throw err;
          this.deps.log(`domain ${domain.domid} '${config.name}' comes back without its vif ${vif.devid}: ${(err as Error).message}`);
          droppedVifs.push(vif.devid);
        }
      }
      if (droppedVifs.length > 0) this.setVifs(domain.domid, config.vif.filter((v) => !droppedVifs.includes(v.devid)));
      if (!options.paused) {
        this.domctl.unpauseDomain(domain.domid);
        await this.bootKernel(domain.domid);
      }
    } catch (err) {
      // Nothing of a failed create stays: domain, memory, event channels, XenStore
      // nodes, a console log it started, the saved record.
      await this.teardown(domain.domid, { discardNewConsoleLog: true });
      throw createFailure(config.name, err);
    }
    this.deps.log(`created domain ${domain.domid} '${config.name}' (${config.type}, ${config.vcpus}/${config.maxvcpus} vCPUs, ${config.memory}/${config.maxmem} MiB)`);
    return record;
  }

  private async writeLayout(record: DomainRecord, built: BuiltDomain): Promise<void> {
    const { xs } = this.deps;
    const c = record.config;
    const now = Date.now();
    const cmdline = kernelCommandLine(c);
    const info: LayoutInfo = {
      domid: record.domid,
      name: c.name,
      uuid: record.uuid,
      type: c.type,
      maxvcpus: c.maxvcpus,
      vcpus: c.vcpus,
      staticMaxKiB: c.maxmem * 1024,
      targetKiB: c.memory * 1024,
      storeGfn: built.storeGfn,
      storePort: built.storePort,
      consoleGfn: built.consoleGfn,
      consolePort: built.consolePort,
      consoleDomid: built.consoleDomid,
      ...(c.kernel !== undefined ? { kernel: c.kernel } : {}),
      ...(c.ramdisk !== undefined ? { ramdisk: c.ramdisk } : {}),
      ...(cmdline !== undefined ? { cmdline } : {}),
      startTime: `${Math.floor(now / 1000)}.${String(Math.floor((now % 1000) / 10)).padStart(2, '0')}`,
    };
    await xs.transaction((tx) => writeDomainLayout(xs, tx, info));
    // The same message an external toolstack sends: xenstored maps the ring, binds the
    // event channel and fires @introduceDomain.
    await xs.request(XsType.INTRODUCE, `${record.domid}\0${built.storeGfn}\0${built.storePort}\0`);
    await xs.transaction((tx) => writeConsoleLayout(xs, tx, info));
  }

  private makeKernel(record: DomainRecord, built: BuiltDomain): Kernel {
    const c = record.config;
    const faults = this.deps.faults;
    return new Kernel({
      domid: record.domid,
      name: c.name,
      type: c.type,
      vcpus: c.maxvcpus,
      pages: builtPages(c),
      hc: new Hypercalls(this.deps.hv, record.domid),
      clock: this.deps.clock,
      boot: c.type === 'pv' ? { kind: 'pv', startInfoGfn: built.startInfoGfn } : { kind: 'hvm', sharedInfoGfn: built.sharedInfoGfn },
      xenemu: c.xenemu,
      cmdline: kernelCommandLine(c) ?? '',
      ...(this.deps.onVif !== undefined ? { onVif: this.deps.onVif } : {}),
      ...(faults ? { faults: { armed: () => faults.armed(), ignores: (command: string) => faults.ignoresShutdown(record.domid, command) }, blkFaults: faults.blk } : {}),
    });
  }

  /**
   * xl unpause; the first unpause of a domain created paused boots its kernel. The
   * domain exists by then (create returned), so a kernel that fails to boot crashes
   * it, and on_crash says what happens next.
   */
  async unpause(domid: number, options: { kernelNextTurn?: boolean } = {}): Promise<void> {
    this.domctl.unpauseDomain(domid);
    if (this.guests.get(domid)?.record.changed?.paused === true) this.recordChange(domid, { paused: false });
    // The caller answers someone first (a migration target's report), as libxl_domain_unpause returns before the guest runs.
    if (options.kernelNextTurn === true) await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      await this.bootKernel(domid);
    } catch (err) {
      this.guests.get(domid)?.kernel.log.print(`Kernel panic - not syncing: ${(err as Error).message}`);
      this.domctl.shutdownDomain(domid, 'crash');
    }
  }

  private async bootKernel(domid: number): Promise<void> {
    const guest = this.guests.get(domid);
    if (guest === undefined || guest.kernel.state !== 'created') return;
    if (guest.resumeFrom !== undefined) {
      const saved = guest.resumeFrom;
      delete guest.resumeFrom;
      await guest.kernel.restore(saved);
      return;
    }
    const late = this.deps.faults?.bootDelayMs(domid) ?? 0;
    if (late === 0) {
      await guest.kernel.boot();
      return;
    }
    // guest-slow-boot: the domain runs (xl create has returned) but its kernel starts late.
    this.deps.clock.after(late * 1e6, () => {
      if (this.guests.get(domid) !== guest || guest.kernel.state !== 'created') return;
      guest.kernel.boot().catch((err: Error) => {
        guest.kernel.log.print(`Kernel panic - not syncing: ${err.message}`);
        this.domctl.shutdownDomain(domid, 'crash');
      });
    });
  }

  /** xl sysrq (libxl_send_sysrq): the key in ~/control/sysrq, which the guest's control driver takes. */
  async sysrq(domid: number, key: string): Promise<void> {
    await this.deps.xs.write(`/local/domain/${domid}/control/sysrq`, key);
  }

  /** xl trigger (libxl_send_trigger): XEN_DOMCTL_sendtrigger. */
  trigger(domid: number, trigger: DomainTrigger, vcpu: number): void {
    this.domctl.sendTrigger(domid, trigger, vcpu);
  }

  pause(domid: number): void {
    this.domctl.pauseDomain(domid);
    this.recordChange(domid, { paused: true });
  }

  /** Keep an xl change in the domain's record (journalled: it survives a restart). */
  private recordChange(domid: number, change: DomainChanges): void {
    const guest = this.guests.get(domid);
    if (guest === undefined) return;
    guest.record = { ...guest.record, changed: { ...guest.record.changed, ...change } };
    this.deps.store.save(guest.record);
  }

  /**
   * Make a rebuilt domain what the xl commands had made it (it is still paused here).
   * Each change on its own: one that no longer applies is logged and dropped, the
   * others stay.
   */
  private async reapply(domid: number, name: string, changed: DomainChanges): Promise<void> {
    const d = this.find(domid);
    const steps: Array<[string, () => void | Promise<void>]> = [];
    if (changed.targetKiB !== undefined) steps.push(['mem-set', () => this.memSet(domid, changed.targetKiB!)]);
    if (changed.maxKiB !== undefined) steps.push(['mem-max', () => this.memMax(domid, changed.maxKiB!)]);
    if (changed.onlineVcpus !== undefined) steps.push(['vcpu-set', () => this.vcpuSet(domid, changed.onlineVcpus!)]);
    const sched = changed.sched;
    if (sched !== undefined) steps.push(['scheduler weight and cap', () => void this.schedDomainSet(domid, sched)]);
    const rtds = changed.rtds;
    if (rtds !== undefined) steps.push(['RTDS parameters', () => void this.rtdsVcpuSet(domid, rtds.map((p, vcpuid) => ({ vcpuid, ...p })), false)]);
    const affinity = changed.affinity;
    if (affinity !== undefined) {
      steps.push([
        'vcpu-pin',
        () => {
          affinity.forEach((a, i) => {
            if (d.vcpus[i] !== undefined) this.domctl.setVcpuAffinity(domid, i, a.hard, a.soft);
          });
          this.recordChange(domid, { affinity });
        },
      ]);
    }
    for (const [what, step] of steps) {
      try {
        await step();
      } catch (err) {
        this.deps.log(`domain ${domid} '${name}' comes back without its ${what}: ${(err as Error).message}`);
      }
    }
  }

  /**
   * xl shutdown / reboot: write the command to control/shutdown and wait for the guest
   * to acknowledge it by clearing the node (libxl gives it 60 s); with `wait`, also
   * until the domain has shut down.
   */
  async requestShutdown(domid: number, command: 'poweroff' | 'reboot', wait: boolean): Promise<ShutdownReason | null> {
    if (domid === 0) throw new ToolstackError('EINVAL', 'Domain-0 cannot be shut down from here; stop the host with `xenemu host stop`');
    const guest = this.guests.get(domid);
    if (guest === undefined) throw new ToolstackError('ESRCH', `domain ${domid} does not exist`);
    const done = wait ? new Promise<ShutdownReason>((resolve) => guest.shutdownWaiters.push(resolve)) : null;
    await this.controlRequest(domid, command);
    return done === null ? null : await done;
  }

  /**
   * Write `command` to the guest's control/shutdown and resolve once the guest
   * acknowledged it by clearing the node (or the node went with the domain); reject
   * with ETIMEDOUT after `timeoutNs` (libxl's 60 s by default), leaving the request there.
   */
  private async controlRequest(domid: number, command: string, options: { onlyIfNone?: boolean; timeoutNs?: number } = {}): Promise<void> {
    const { xs, clock } = this.deps;
    const node = `/local/domain/${domid}/control/shutdown`;
    if (options.onlyIfNone === true) {
      // A suspend does not overwrite a request the guest has not taken yet (a poweroff would become a suspend).
      const pending = (await xs.read(node).catch(() => Buffer.alloc(0))).toString('latin1');
      if (pending !== '') throw new ToolstackError('EBUSY', `domain ${domid} has a control request it has not taken yet (${pending})`);
    }
    return new Promise<void>((resolve, reject) => {
      const token = `ack-${domid}-${clock.now()}`;
      const timer = clock.after(options.timeoutNs ?? SHUTDOWN_ACK_TIMEOUT_NS, () => {
        off();
        reject(new ToolstackError('ETIMEDOUT', "guest didn't acknowledge control request"));
      });
      const off = (): void => void xs.unwatch(node, token).catch(() => {});
      const onAck = (): void => {
        void xs.read(node).then(
          (v) => {
            if (v.length === 0) {
              timer.cancel();
              off();
              resolve();
            }
          },
          () => {
            timer.cancel();
            off();
            resolve(); // removed: the domain is going away, which also answers
          },
        );
      };
      void xs.write(node, command).then(() => xs.watch(node, token, onAck));
    });
  }

  /**
   * Suspend a guest and take its image, as libxl's domain_suspend does for xl save and
   * migrate: write "suspend" to control/shutdown, wait for the guest to acknowledge it
   * (a guest that does not is left running: the request is taken back, as libxl
   * cancels it) and to shut down with SHUTDOWN_suspend (60 s), then capture the
   * hypervisor's part, the kernel's and the XenStore home. The domain stays suspended
   * for the caller to destroy (destroySaved) or resume in place (resumeDomain: xl save
   * -c) once the image is safe. A failure after the guest suspended resumes it, so a
   * save that failed leaves the domain running, as xl does. `timeoutNs` shortens both
   * waits (a host stopping does not wait a minute for each guest that does not
   * answer). `pagesInPlace` gives the image the domain's own frames instead of copies,
   * for a caller that writes the image out before it resumes or destroys the domain:
   * a save or a migration then copies no page it does not send.
   */
  async suspendDomain(domid: number, options: { timeoutNs?: number; pagesInPlace?: boolean } = {}): Promise<DomainImage> {
    if (domid === 0) throw new ToolstackError('EINVAL', 'Domain-0 cannot be suspended');
    const guest = this.guests.get(domid);
    const d = this.find(domid);
    if (guest === undefined) throw new ToolstackError('ESRCH', `domain ${domid} does not exist`);
    if (d.shutdownReason !== null) throw new ToolstackError('EINVAL', `domain ${domid} '${d.name}' is shut down (${d.shutdownReason}): there is nothing to suspend`);
    if (guest.kernel.state !== 'running') throw new ToolstackError('EINVAL', `domain ${domid} '${d.name}' has no running kernel to suspend (it is ${guest.kernel.state})`);
    const { clock } = this.deps;
    let stopWaiting = (): void => {};
    const suspended = new Promise<ShutdownReason>((resolve) => {
      guest.shutdownWaiters.push(resolve);
      stopWaiting = () => {
        const i = guest.shutdownWaiters.indexOf(resolve);
        if (i >= 0) guest.shutdownWaiters.splice(i, 1);
      };
    });
    try {
      await this.controlRequest(domid, 'suspend', { onlyIfNone: true, ...(options.timeoutNs !== undefined ? { timeoutNs: options.timeoutNs } : {}) });
    } catch (err) {
      const timedOut = err instanceof ToolstackError && err.code === 'ETIMEDOUT';
      // libxl: "guest didn't acknowledge suspend, cancelling request"; a request taken meanwhile goes on.
      if (!timedOut || (await this.takeBackRequest(domid, 'suspend'))) {
        stopWaiting();
        throw timedOut ? new ToolstackError('ETIMEDOUT', "guest didn't acknowledge suspend, request cancelled") : err;
      }
    }
    const reason = await withTimeout(suspended, clock, options.timeoutNs ?? SUSPEND_TIMEOUT_NS);
    if (reason === null) {
      // Nobody will take the image of a guest that suspends after this: it is resumed then.
      void suspended.then((late) => {
        if (late !== 'suspend') return;
        this.resumeDomain(domid).then(
          () => this.deps.log(`domain ${domid} '${d.name}' suspended after the toolstack gave up: resumed`),
          (e: Error) => this.deps.log(`domain ${domid} '${d.name}' suspended after the toolstack gave up and cannot be resumed: ${e.message}`),
        );
      });
      throw new ToolstackError('ETIMEDOUT', `guest did not suspend, timed out (domain ${domid} '${d.name}' is still running)`);
    }
    if (reason !== 'suspend') throw new ToolstackError('EINVAL', `domain ${domid} '${d.name}' shut down (${reason}) instead of suspending`);
    this.deps.log(`domain ${domid} '${d.name}' suspended`);
    try {
      return await this.imageOf(domid, this.deps.hv.saveDomain(domid, { pagesInPlace: options.pagesInPlace === true }), guest.kernel.save());
    } catch (err) {
      await this.resumeDomain(domid);
      throw err;
    }
  }

  /**
   * A domain's image from its hypervisor and kernel parts: the toolstack's record and
   * the kernel's state are copied, since the guest may run on (resumed, or after a
   * checkpoint) while the image is written.
   */
  private async imageOf(domid: number, hypervisor: SavedDomain, kernel: KernelState): Promise<DomainImage> {
    return {
      record: structuredClone(this.guests.get(domid)!.record),
      hypervisor,
      kernel: structuredClone(kernel),
      xenstore: await captureStoreHome(this.deps.xs, domid),
    };
  }

  /**
   * A checkpoint the guest does not see, for the host's own images (DomainImages), not
   * for xl (save -c is suspendDomain then resumeDomain: there the guest takes part, as on
   * Xen). Nothing is asked of the guest through control/shutdown, nobody's log gets a
   * line, and the hypervisor does not shut the domain down: the kernel quiesces its
   * devices without a word (Kernel.checkpoint), the domain is paused through Domctl
   * while the image is taken, then unpaused and thawed. The image is what suspendDomain
   * would have taken at that instant (a suspended kernel with its connections, a
   * domain shut down for a suspend), so restoreDomain cannot tell the two apart. A
   * paused domain can be checkpointed too (it stays paused), unless a device has work
   * in flight that only its interrupts could finish.
   */
  async checkpointImage(domid: number): Promise<DomainImage> {
    return (await this.checkpointUnlessUnchanged(domid, async () => false))!;
  }

  /**
   * checkpointImage, unless `unchanged` says the image taken (its pages in place, the
   * domain still paused) is the same as the caller's last one: then null, and no page
   * is copied. The host's checkpoints skip a guest that did nothing this way.
   */
  async checkpointUnlessUnchanged(domid: number, unchanged: (image: DomainImage) => Promise<boolean>): Promise<DomainImage | null> {
    const guest = this.guests.get(domid);
    const d = this.find(domid);
    if (domid === 0 || guest === undefined) throw new ToolstackError('EINVAL', `domain ${domid} is not a guest`);
    if (d.shutdownReason !== null) throw new ToolstackError('EINVAL', `domain ${domid} '${d.name}' is shut down (${d.shutdownReason})`);
    const { hv } = this.deps;
    return guest.kernel.checkpoint(
      async (kernel) => {
        this.domctl.pauseDomain(domid);
        try {
          const saved = hv.saveDomain(domid, { pagesInPlace: true });
          // As after SHUTDOWN_suspend (not shut down meanwhile: it was paused): the pause is this capture's own.
          const image = await this.imageOf(domid, { ...saved, pauseCount: saved.pauseCount - 1, shutdownReason: 'suspend', vcpus: saved.vcpus.map((v) => ({ ...v, running: false })) }, kernel);
          if (await unchanged(image)) return null;
          // The guest runs on while the image is written: its pages are copied now.
          return { ...image, hypervisor: { ...image.hypervisor, memory: d.memory.save() } };
        } finally {
          if (hv.domains.get(domid) === d) this.domctl.unpauseDomain(domid);
        }
      },
      { paused: d.paused },
    );
  }

  /** Take a control request back if the guest has not (libxl's cancel): true when it was still there. */
  private async takeBackRequest(domid: number, command: string): Promise<boolean> {
    const { xs } = this.deps;
    const node = `/local/domain/${domid}/control/shutdown`;
    return xs.transaction(async (tx) => {
      const v = (await xs.read(node, tx).catch(() => Buffer.alloc(0))).toString('latin1');
      if (v !== command) return false;
      await xs.write(node, '', tx);
      return true;
    });
  }

  /**
   * A suspended guest runs on in the same domain (xc_domain_resume's cooperative
   * resume, XEN_DOMCTL_resumedomain): its SCHEDOP_shutdown returns 1, "cancelled", and
   * it goes on with the ports, rings and devices it had. What xl save -c and a failed
   * save or migration do.
   */
  async resumeDomain(domid: number): Promise<void> {
    const guest = this.guests.get(domid);
    if (guest === undefined) throw new ToolstackError('ESRCH', `domain ${domid} does not exist`);
    this.domctl.resumeDomain(domid);
    await guest.kernel.resume();
    this.deps.log(`domain ${domid} '${guest.record.name}' resumed`);
  }

  /** xl save without -c: once the image is safe, the suspended domain goes (libxl_domain_destroy). */
  async destroySaved(domid: number): Promise<void> {
    const d = this.find(domid);
    if (d.shutdownReason !== 'suspend') throw new ToolstackError('EINVAL', `domain ${domid} '${d.name}' is not suspended`);
    await this.teardown(domid);
  }

  /**
   * Before a restore reads any page (xl's freemem, then libxl's domain creation): the
   * declared memory against what the host has free, and what the pages may take.
   */
  admitRestore(declared: DeclaredMemory): PageBound {
    return pageBoundFor(declared, this.deps.hv.freeKiB);
  }

  /**
   * xl restore (libxl_domain_create_restore): a new domain built from an image. The
   * hypervisor loads the saved domain under a new domid (savedForNewDomain: Xen's
   * objects start anew), the xenstore and console rings get new event channels in
   * start_info or the HVM params, the toolstack writes the domain's XenStore layout as
   * create does and INTRODUCEs it (xenstored maps the same ring page), then the
   * image's home nodes (permissions moved to the new domid), the console, and each
   * disk and vif of the config for their backends now. The guest's kernel is then
   * made from the image and resumed in the new domain (Kernel.restore); with
   * `paused`, when it is first unpaused. `config` replaces the image's (xl restore
   * CONFIG), `name` its name; `domid` asks for that id (a host bringing its domains
   * back). On any failure nothing of the new domain is left.
   */
  async restoreDomain(image: DomainImage, options: { paused?: boolean; name?: string; config?: DomainConfig; domid?: number } = {}): Promise<number> {
    const { domid, devices, name } = await this.restoreWithDevicesPending(image, options);
    try {
      await devices;
      if (!options.paused) {
        this.domctl.unpauseDomain(domid);
        await this.bootKernel(domid);
      }
    } catch (err) {
      await this.teardown(domid, { discardNewConsoleLog: true });
      throw restoreFailure(name, err);
    }
    this.deps.log(`restored domain ${domid} '${name}' from the image of domain ${image.record.domid}`);
    return domid;
  }

  /**
   * A migration target's restore (paused): restoreDomain up to its devices, which are
   * attached meanwhile. It returns once the domain is loaded and its XenStore written,
   * with `devices` settling when every backend is up (hotplug done), so the target can
   * say it is ready while they come up: the sender's rename and "go" overlap them. If
   * `devices` rejects, the domain is still there for the caller to destroy (a target
   * then reports failure at the "go", and the sender resumes its domain). Any other
   * failure leaves nothing, as restoreDomain.
   */
  async restoreIncoming(image: DomainImage, name: string): Promise<{ domid: number; devices: Promise<void> }> {
    const { domid, devices } = await this.restoreWithDevicesPending(image, { paused: true, name });
    // Settled later by the caller; never an unhandled rejection meanwhile.
    devices.catch(() => {});
    return { domid, devices };
  }

  private async restoreWithDevicesPending(image: DomainImage, options: { paused?: boolean; name?: string; config?: DomainConfig; domid?: number }): Promise<{ domid: number; name: string; devices: Promise<void> }> {
    const { hv } = this.deps;
    const base = options.config ?? image.record.config;
    const config: DomainConfig = options.name !== undefined ? { ...base, name: options.name } : base;
    const uuid = image.record.uuid;
    for (const d of hv.domains.values()) {
      if (d.name === config.name) throw new ToolstackError('EEXIST', `domain '${config.name}' already exists with ID ${d.domid}`);
      if (d.uuid === uuid) throw new ToolstackError('EEXIST', `domain ${d.domid} '${d.name}' already has UUID ${uuid}`);
    }
    if (image.hypervisor.type !== config.type) throw new ToolstackError('EINVAL', `the image is of a ${image.hypervisor.type} domain; the config says ${config.type}`);
    let domid: number;
    try {
      domid = options.domid ?? hv.allocateDomid();
    } finally {
      this.deps.store.saveDomidCursor(hv.domidCursor);
    }
    const sharedInfoGfn = config.type === 'pv' ? pvSharedInfoMfn(domid) : image.hypervisor.sharedInfoGfn;
    let built: BuiltDomain;
    try {
      const [domain] = hv.loadDomains([savedForNewDomain(image.hypervisor, domid, config.name, sharedInfoGfn)]);
      built = restoreSpecialPages(this.domctl, domain!, { builtPages: builtPages(config), storeDomid: this.deps.storeDomid, consoleDomid: this.deps.consoles.domid });
    } catch (err) {
      if (hv.domains.has(domid)) this.domctl.destroyDomain(domid);
      throw restoreFailure(config.name, err);
    }
    const changed: DomainChanges = { ...image.record.changed, ...(options.paused ? { paused: true } : {}) };
    // A config given to the restore brings its own cpu_weight and cap, as its sched_params replace the saved ones.
    if (options.config !== undefined) delete changed.sched;
    const record: DomainRecord = {
      domid,
      uuid,
      name: config.name,
      config,
      ...(image.record.source ? { source: image.record.source } : {}),
      // What the saved config spelled out; a config given to the restore spelled out its own.
      ...(image.record.given && options.config === undefined ? { given: image.record.given } : {}),
      ...(Object.keys(changed).length > 0 ? { changed } : {}),
    };
    try {
      // libxl__build_post after the stream: the saved weight and cap (those sched-credit
      // gave it, else its config's), under this host's scheduler.
      domainSchedParamsSet(this.domctl, hv, domid, changed.sched ?? { weight: config.cpu_weight, cap: config.cap });
      if (changed.rtds !== undefined && hv.scheduler.name === 'rtds') rtdsVcpuSet(this.domctl, hv, domid, changed.rtds.map((p, vcpuid) => ({ vcpuid, ...p })), false);
      await this.writeLayout(record, built);
      const { xs } = this.deps;
      await xs.transaction((tx) => writeStoreHome(xs, tx, domid, image.record.domid, image.xenstore));
      this.deps.consoles.attach(domid, config.name, built.consoleGfn, built.consolePort);
      const kernel = this.makeKernel(record, built);
      // A domain restored paused has its kernel's log already: dmesg shows it before it runs again.
      kernel.log.load(image.kernel.log);
      this.guests.set(domid, { record, built, kernel, shutdownWaiters: [], resumeFrom: image.kernel });
      this.deps.store.save(record);
    } catch (err) {
      await this.teardown(domid, { discardNewConsoleLog: true });
      throw restoreFailure(config.name, err);
    }
    // All at once: each waits on its backend, and a migration's downtime waits on them all.
    const devices = Promise.allSettled([...config.disk.map((disk) => this.attachDiskNodes(domid, disk)), ...config.vif.map((vif) => this.attachNicNodes(domid, vif))]).then((attached) => {
      const failed = attached.find((a) => a.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    });
    return { domid, name: config.name, devices };
  }

  /** xl destroy: tear the domain down at once. */
  async destroy(domid: number): Promise<void> {
    if (domid === 0) throw new ToolstackError('EINVAL', 'Domain-0 cannot be destroyed');
    this.find(domid);
    await this.teardown(domid);
  }

  /**
   * Everything create built, taken apart in reverse; used for failed creates too, so
   * each step runs even when one before it failed (a step that fails is logged), and
   * the first failure is thrown at the end.
   */
  private async teardown(domid: number, options: { discardNewConsoleLog?: boolean } = {}): Promise<void> {
    const { hv, xs } = this.deps;
    const guest = this.guests.get(domid);
    this.guests.delete(domid);
    const domain = hv.domains.get(domid);
    let first: unknown = null;
    const step = async (what: string, f: () => unknown): Promise<void> => {
      try {
        await f();
      } catch (err) {
        this.deps.log(`domain ${domid}: ${what} failed: ${(err as Error).message}`);
        first ??= err;
      }
    };
    await step('stopping the kernel', () => guest?.kernel.stop());
    await step('detaching the console', () => this.deps.consoles.detach(domid, options));
    // RELEASE of a domain never introduced answers ENOENT: nothing to undo.
    await xs.request(XsType.RELEASE, `${domid}\0`).catch(() => {});
    if (domain !== undefined) {
      await step('destroying the domain', () => this.domctl.destroyDomain(domid));
      await step('removing its XenStore nodes', () => xs.transaction((tx) => removeDomainLayout(xs, tx, domid, domain.uuid)));
    }
    await step('forgetting its record', () => this.deps.store.forget(domid));
    for (const w of guest?.shutdownWaiters ?? []) w(domain?.shutdownReason ?? 'poweroff');
    if (first !== null) throw first;
  }

  /**
   * A domain shut down: apply its on_poweroff / on_reboot / on_crash / on_watchdog
   * action, as xl's per-domain monitor does.
   */
  private onDomainEvent(e: DomainEvent): void {
    if (e.kind !== 'shutdown') return;
    const guest = this.guests.get(e.domid);
    if (guest === undefined) return;
    for (const w of guest.shutdownWaiters.splice(0)) w(e.reason);
    const c = guest.record.config;
    const action =
      e.reason === 'reboot' ? c.on_reboot : e.reason === 'crash' ? c.on_crash : e.reason === 'watchdog' ? c.on_watchdog : e.reason === 'suspend' ? 'preserve' : c.on_poweroff;
    this.deps.log(`domain ${e.domid} '${guest.record.name}' shut down (${e.reason}): ${action}`);
    this.deps.clock.defer(() => void this.applyAction(guest, action).catch((err: Error) => this.deps.log(`domain ${e.domid}: ${action} failed: ${err.message}`)));
  }

  private async applyAction(guest: Guest, action: DomainConfig['on_poweroff']): Promise<void> {
    const { domid, config, uuid, changed, given } = guest.record;
    switch (action) {
      case 'preserve':
        return;
      case 'destroy':
      case 'coredump-destroy':
        await this.teardown(domid);
        return;
      case 'restart':
      case 'coredump-restart':
      case 'soft-reset':
        // xl builds the domain again: same name and UUID, a new domain id.
        await this.teardown(domid);
        await this.restart(config, uuid, changed, given);
        return;
      case 'rename-restart': {
        const renamed = `${config.name}-${domid}`;
        await this.rename(domid, renamed);
        this.guests.delete(domid);
        await this.restart(config, randomUUID(), changed, given);
        return;
      }
    }
  }

  /**
   * xl's restart actions build from the domain's current configuration
   * (reload_domain_config: libxl_retrieve_domain_configuration), so the memory target,
   * maximum and online vCPUs that mem-set, mem-max and vcpu-set gave it carry over, and
   * the weight and cap sched-credit gave it (its sched_params); the new domain starts
   * paused until they are applied, then runs.
   */
  private async restart(config: DomainConfig, uuid: string, changed: DomainChanges | undefined, given: StoredGivenKeys | undefined): Promise<void> {
    const r = await this.create(config, { uuid, paused: true, ...(given ? { given } : {}) });
    const { targetKiB, maxKiB, onlineVcpus, sched, rtds } = changed ?? {};
    await this.reapply(r.domid, r.name, { targetKiB, maxKiB, onlineVcpus, sched, rtds });
    await this.unpause(r.domid);
  }

  /** xl rename: the hypervisor's name, ~/name and /vm/<uuid>/name together. */
  async rename(domid: number, name: string): Promise<void> {
    const d = this.find(domid);
    for (const other of this.deps.hv.domains.values()) {
      if (other.name === name && other.domid !== domid) throw new ToolstackError('EEXIST', `domain '${name}' already exists`);
    }
    const problem = domainNameProblem(name);
    if (problem !== undefined) throw new ToolstackError('EINVAL', `cannot rename domain ${domid} to "${name}": ${problem}`);
    const { xs } = this.deps;
    await xs.transaction(async (tx) => {
      await xs.write(`/local/domain/${domid}/name`, name, tx);
      await xs.write(`/vm/${d.uuid}/name`, name, tx);
    });
    this.domctl.setDomainName(domid, name);
    const guest = this.guests.get(domid);
    if (guest) {
      guest.record = { ...guest.record, name, config: { ...guest.record.config, name } };
      this.deps.store.save(guest.record);
    }
  }

  /**
   * xl mem-set (libxl_set_memory_target): in one transaction check against static-max,
   * raise Xen's limit to target + 1 MiB (LIBXL_MAXMEM_CONSTANT), write memory/target
   * in KiB and /vm/<uuid>/memory in MiB. The guest's balloon does the rest.
   */
  async memSet(domid: number, targetKiB: number): Promise<void> {
    const d = this.find(domid);
    const { xs } = this.deps;
    await xs.transaction(async (tx) => {
      const staticMax = Number((await xs.read(`/local/domain/${domid}/memory/static-max`, tx)).toString());
      if (domid !== 0 && targetKiB > staticMax) {
        throw new ToolstackError('EINVAL', `memory_dynamic_max must be less than or equal to memory_static_max (${targetKiB} KiB > ${staticMax} KiB)`);
      }
      this.domctl.setMaxMem(domid, targetKiB + 1024);
      await xs.write(`/local/domain/${domid}/memory/target`, String(targetKiB), tx);
      await xs.write(`/vm/${d.uuid}/memory`, String(Math.floor(targetKiB / 1024)), tx);
    });
    // The domain's target is what mem-max checks against and list -l reports.
    this.domctl.setMemoryTarget(domid, targetKiB);
    this.recordChange(domid, { targetKiB });
  }

  /** xl mem-max: Xen's limit and memory/static-max, not the target. */
  async memMax(domid: number, maxKiB: number): Promise<void> {
    const d = this.find(domid);
    // The guest's frame space was fixed when it was built (maxmem): xl cannot grow it.
    const frameSpaceKiB = d.memory.maxPages * 4;
    if (domid !== 0 && maxKiB > frameSpaceKiB) {
      throw new ToolstackError('EINVAL', `cannot set max memory of domain ${domid} above the ${frameSpaceKiB} KiB it was built with (maxmem)`);
    }
    if (maxKiB < d.targetKiB) {
      throw new ToolstackError('EINVAL', `memory_static_max must be greater than or equal to memory_dynamic_max (${maxKiB} KiB < target ${d.targetKiB} KiB)`);
    }
    this.domctl.setMaxMem(domid, maxKiB + 1024);
    await this.deps.xs.write(`/local/domain/${domid}/memory/static-max`, String(maxKiB));
    this.recordChange(domid, { maxKiB });
  }

  /** xl vcpu-set: cpu/<i>/availability for every vCPU; the guest brings them up or down. */
  async vcpuSet(domid: number, count: number): Promise<void> {
    const d = this.find(domid);
    if (count < 1 || count > d.vcpus.length) {
      throw new ToolstackError('EINVAL', `domain ${domid} has ${d.vcpus.length} vCPUs at most (maxvcpus); asked for ${count}`);
    }
    const { xs } = this.deps;
    await xs.transaction(async (tx) => {
      for (let i = 0; i < d.vcpus.length; i++) await xs.write(`/local/domain/${domid}/cpu/${i}/availability`, i < count ? 'online' : 'offline', tx);
    });
    this.recordChange(domid, { onlineVcpus: count });
  }

  /** xl vcpu-pin: hard and soft affinity of one vCPU (or all, with vcpu = null). */
  vcpuPin(domid: number, vcpu: number | null, hard: number[] | null | undefined, soft: number[] | null | undefined): void {
    const d = this.find(domid);
    // libxl_set_vcpuaffinity() refuses a map naming CPUs the host does not have.
    const pcpus = this.deps.hv.host.pcpus;
    const missing = [...(hard ?? []), ...(soft ?? [])].find((cpu) => cpu >= pcpus);
    if (missing !== undefined) throw new ToolstackError('EINVAL', `the host has no CPU ${missing} (it has CPUs 0-${pcpus - 1})`);
    const targets = vcpu === null ? d.vcpus : [d.vcpus[vcpu]];
    if (targets.includes(undefined)) throw new ToolstackError('EINVAL', `domain ${domid} has no vCPU ${vcpu}`);
    for (const v of targets) this.domctl.setVcpuAffinity(domid, v!.id, hard, soft);
    this.recordChange(domid, { affinity: d.vcpus.map((v) => ({ hard: v.hardAffinity, soft: v.softAffinity })) });
  }

  /**
   * xl sched-credit / sched-credit2 -d DOM -w / -c (libxl_domain_sched_params_set):
   * `sched` is the scheduler the command is for (absent: the pool's); what the domain
   * has since is kept in its record, so a restart and a reboot keep it.
   */
  schedDomainSet(domid: number, change: { sched?: WeightedScheduler; weight?: number; cap?: number }): DomainSchedParams | null {
    const now = domainSchedParamsSet(this.domctl, this.deps.hv, domid, change);
    if (now !== null) this.recordChange(domid, { sched: now });
    return now;
  }

  /**
   * xl sched-rtds -d DOM -v ... -p -b -e (libxl_vcpu_sched_params_set / _set_all); every
   * vCPU's parameters after it are kept in the domain's record.
   */
  rtdsVcpuSet(domid: number, vcpus: readonly LibxlRtdsVcpu[], all: boolean): LibxlRtdsVcpu[] {
    const now = rtdsVcpuSet(this.domctl, this.deps.hv, domid, vcpus, all);
    this.recordChange(domid, { rtds: now.map(({ period, budget, extratime }) => ({ period, budget, extratime })) });
    return now;
  }

  private diskDeps(): DeviceDeps {
    const { xs, clock, log } = this.deps;
    const faults = this.deps.faults;
    return {
      xs,
      clock,
      log,
      hotplugBaseEnv: { ...process.env, ...this.deps.hotplugEnv },
      ...(this.deps.bridgeExists !== undefined ? { bridgeExists: this.deps.bridgeExists } : {}),
      ...(this.deps.captureProblem !== undefined ? { captureProblem: this.deps.captureProblem } : {}),
      ...(faults ? { faults } : {}),
    };
  }

  /** The domain a disk's backend= names (by id or name), which must exist. */
  private backendDomid(disk: DiskSpec): number {
    return this.resolveBackend(disk.backend, `Disk vdev=${disk.vdev}`);
  }

  /** The domain a device's backend= names (by id or name); ESRCH naming `what` when there is none. */
  private resolveBackend(backend: string, what: string): number {
    const q = domainQualifier(backend);
    const d = 'domid' in q ? this.deps.hv.domains.get(q.domid) : [...this.deps.hv.domains.values()].find((x) => x.name === q.name);
    if (d === undefined) throw new ToolstackError('ESRCH', `${what}: backend domain '${backend}' does not exist`);
    return d.domid;
  }

  /**
   * A vif's nodes and device flow, after the checks libxl does not make and a host
   * needs: no other vif on the host (this guest's included) has its MAC.
   */
  private async attachNicNodes(domid: number, vif: VifSpec): Promise<void> {
    for (const [other, g] of this.guests) {
      const clash = g.record.config.vif.find((v) => v.mac === vif.mac && !(other === domid && v.devid === vif.devid));
      if (clash !== undefined) throw new ToolstackError('EEXIST', `MAC address ${vif.mac} is already in use by domain ${other} '${g.record.name}' (vif ${clash.devid})`);
    }
    await attachNic(this.diskDeps(), vif, { domid, backendDomid: this.resolveBackend(vif.backend, `vif ${vif.devid}`) });
  }

  /**
   * xl network-attach: a vif for a running (or paused) guest, kept in its record like
   * a disk. Without devid= it takes the next free one (libxl__device_nextid); without
   * mac= one derived from the guest's uuid and the devid, so it is stable.
   */
  async networkAttach(domid: number, spec: VifSpecInput): Promise<{ devid: number; mac: string }> {
    if (domid === 0) throw new ToolstackError('EINVAL', 'xenemu attaches vifs to guests, not to Domain-0');
    const d = this.find(domid);
    const guest = this.guests.get(domid)!;
    const used = new Set([...(await nicDevids(this.deps.xs, domid)), ...guest.record.config.vif.map((v) => v.devid)]);
    let devid = spec.devid ?? 0;
    if (spec.devid === undefined) while (used.has(devid)) devid++;
    const vif = finishVif(spec, d.uuid, devid, guest.record.config.type);
    await this.attachNicNodes(domid, vif);
    this.setVifs(domid, [...guest.record.config.vif.filter((v) => v.devid !== devid), vif]);
    return { devid, mac: vif.mac };
  }

  /** xl network-detach: DEVID or MAC. ENODEV ("Unknown device") when the guest has no such vif. */
  async networkDetach(domid: number, ref: string): Promise<{ devid: number }> {
    this.find(domid);
    const d = await findNic(this.deps.xs, domid, ref);
    if (d === undefined) throw new ToolstackError('ENODEV', `Unknown device ${ref}.`);
    try {
      await detachNic(this.diskDeps(), d);
    } finally {
      const vifs = this.guests.get(domid)?.record.config.vif;
      if (vifs !== undefined && (await findNic(this.deps.xs, domid, String(d.devid))) === undefined) this.setVifs(domid, vifs.filter((v) => v.devid !== d.devid));
    }
    return { devid: d.devid };
  }

  /** xl network-list: one row per vif of the guest, from XenStore. */
  async networkList(domid: number): Promise<NicInfo[]> {
    this.find(domid);
    return listNics(this.deps.xs, domid);
  }

  private setVifs(domid: number, vif: VifSpec[]): void {
    const guest = this.guests.get(domid);
    if (guest === undefined) return;
    guest.record = { ...guest.record, config: { ...guest.record.config, vif: vif.sort((a, b) => a.devid - b.devid) } };
    this.deps.store.save(guest.record);
  }

  /** The vif spec a guest's record has for `devid` (capture=, vifname=), if any. */
  vifSpec(domid: number, devid: number): VifSpec | undefined {
    return this.guests.get(domid)?.record.config.vif.find((v) => v.devid === devid);
  }

  private async attachDiskNodes(domid: number, disk: DiskSpec): Promise<void> {
    const guest = this.guests.get(domid);
    if (guest === undefined) throw new ToolstackError('ESRCH', `domain ${domid} does not exist`);
    await attachDisk(this.diskDeps(), disk, { domid, backendDomid: this.backendDomid(disk), guestType: guest.record.config.type });
  }

  /**
   * xl block-attach: attach a disk to a running (or paused) guest. Like libxl, which
   * adds it to the domain's stored configuration, the disk is kept in the record: a
   * restart of the daemon or a reboot of the guest brings it back.
   */
  async blockAttach(domid: number, disk: DiskSpec): Promise<{ devid: number }> {
    if (domid === 0) throw new ToolstackError('EINVAL', 'xenemu attaches disks to guests, not to Domain-0');
    this.find(domid);
    await this.attachDiskNodes(domid, disk);
    const disks = this.guests.get(domid)?.record.config.disk ?? [];
    this.setDisks(domid, [...disks.filter((d) => d.devid !== disk.devid), disk]);
    return { devid: disk.devid };
  }

  /**
   * xl block-detach: VDEV is a virtual disk name or a device number (as
   * libxl_vdev_to_device_disk reads it). ENODEV when the guest has no such disk.
   */
  async blockDetach(domid: number, vdev: string, force: boolean): Promise<{ devid: number }> {
    this.find(domid);
    const devid = decodeVdev(vdev)?.devid;
    const d = devid === undefined ? undefined : await findDisk(this.deps.xs, domid, devid);
    if (d === undefined) throw new ToolstackError('ENODEV', `Device ${vdev} not connected.`);
    try {
      await detachDisk(this.diskDeps(), d, force);
    } finally {
      // Whatever is left of it in XenStore, the disk is gone from the record once its
      // /libxl entry is (a forced detach, or a backend that closed).
      const disks = this.guests.get(domid)?.record.config.disk;
      if (disks !== undefined && (await findDisk(this.deps.xs, domid, d.devid)) === undefined) this.setDisks(domid, disks.filter((x) => x.devid !== d.devid));
    }
    return { devid: d.devid };
  }

  /**
   * xl cd-insert / cd-eject (libxl_cdrom_insert): put `target` (null: no medium) in the
   * HVM guest's cdrom drive `vdev`, with libxl's checks and messages. The new medium
   * is kept in the record, as libxl keeps it in the domain's stored configuration: a
   * restart of the daemon or a reboot of the guest brings the drive back with it.
   */
  cdromInsert(domid: number, vdev: string, target: string | null): Promise<{ devid: number }> {
    const change = (this.mediumChanges.get(domid) ?? Promise.resolve()).catch(() => {}).then(() => this.changeMedium(domid, vdev, target));
    const settled = change.catch(() => {});
    this.mediumChanges.set(domid, settled);
    void settled.then(() => {
      if (this.mediumChanges.get(domid) === settled) this.mediumChanges.delete(domid);
    });
    return change;
  }

  private async changeMedium(domid: number, vdev: string, target: string | null): Promise<{ devid: number }> {
    const guest = this.guests.get(domid);
    const domain = this.deps.hv.domains.get(domid);
    if (domain === undefined) throw new ToolstackError('ESRCH', `unable to get domain type for domid=${domid}`);
    if (guest?.record.config.type !== 'hvm') throw new ToolstackError('EINVAL', 'cdrom-insert requires an HVM domain');
    const drive = await findCdrom(this.diskDeps(), domid, vdev);
    const from = guest.record.config.disk.find((d) => d.devid === drive.devid);
    if (from === undefined) throw new ToolstackError('ENODEV', 'Virtual device not found');
    // libxl has QEMU change the medium; here the guest's frontend must let go of the drive (see devices/cdrom.ts).
    if (domain.shutdownReason !== null) throw new ToolstackError('EBUSY', `domain ${domid} has shut down: its frontend cannot let go of ${vdev} for the medium to change`);
    if (domain.paused) throw new ToolstackError('EBUSY', `domain ${domid} is paused: its frontend cannot let go of ${vdev} for the medium to change; unpause it first`);
    const to = withMedium(from, target);
    const busHas = this.deps.busHas ?? (() => false);
    await changeMedium({ ...this.diskDeps(), busHas }, from, to, { domid, backendDomid: drive.backendId, guestType: 'hvm' });
    this.setDisks(domid, guest.record.config.disk.map((d) => (d.devid === to.devid ? to : d)));
    return { devid: to.devid };
  }

  /**
   * The guest's disks as its stored configuration lists them (libxl keeps attached
   * devices in the domain's JSON config too): what a restart or reboot attaches.
   */
  private setDisks(domid: number, disk: DiskSpec[]): void {
    const guest = this.guests.get(domid);
    if (guest === undefined) return;
    guest.record = { ...guest.record, config: { ...guest.record.config, disk } };
    this.deps.store.save(guest.record);
  }

  /** xl block-list: one row per disk of the guest, from XenStore. */
  async blockList(domid: number): Promise<VbdInfo[]> {
    this.find(domid);
    return listDisks(this.deps.xs, domid);
  }

  /**
   * After a daemon restart, bring back the guests of the previous run: same domids,
   * names and UUIDs. One whose image `images` has (the host saved it at stop, or
   * checkpointed it before a crash) is restored from it and resumes where it was;
   * the others, and one whose restore fails, are built again from their configs and
   * boot. Either way the record's acknowledged changes (targets, pins, vCPUs, pause,
   * devices, renames) apply: they may be newer than the image.
   */
  async rebuildAfterRestart(records: readonly DomainRecord[], images?: (r: DomainRecord) => Promise<DomainImage | null>): Promise<void> {
    const { xs } = this.deps;
    for (const r of records) {
      const image = (await images?.(r)) ?? null;
      // The store is journalled: its copy of the guest's home is at least as new as
      // the image's (a checkpoint may be seconds older than the last acknowledged write).
      const home = image === null ? [] : await captureStoreHome(xs, r.domid).catch(() => []);
      // Whatever the previous run left in the store for this domain is stale now.
      await xs.transaction((tx) => removeDomainLayout(xs, tx, r.domid, r.uuid));
      // A store written by an older xenemu may hold a config it should have refused:
      // it is checked as a create's is, and one that fails is not built again.
      const checked = checkConfig(r.config, PLAIN_WORDING);
      if (!checked.ok) {
        const why = checked.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; ');
        this.deps.log(`could not rebuild domain ${r.domid} '${String(r.name)}': its config is invalid: ${why.slice(0, 500)}`);
        this.deps.store.forget(r.domid);
        continue;
      }
      if (image !== null && (await this.resumeAfterRestart({ ...image, record: { ...r, config: checked.value }, xenstore: home.length > 0 ? home : image.xenstore }))) continue;
      try {
        await this.create(checked.value, { domid: r.domid, uuid: r.uuid, paused: true, keepGoingWithoutDisks: true, ...(r.source ? { source: r.source } : {}), ...(r.given ? { given: r.given } : {}) });
        const changed = r.changed ?? {};
        await this.reapply(r.domid, r.name, changed);
        if (changed.paused === true) this.recordChange(r.domid, { paused: true });
        else await this.unpause(r.domid);
      } catch (err) {
        this.deps.log(`could not rebuild domain ${r.domid} '${r.name}': ${(err as Error).message}`);
        this.deps.store.forget(r.domid);
      }
    }
  }

  /**
   * A guest of the previous run restored from its image under its own domid, with the
   * record's changes applied (still paused if the record says so, its kernel resuming
   * at the unpause). False, with the reason logged and nothing left, when it cannot
   * be: the caller boots it again instead.
   */
  private async resumeAfterRestart(image: DomainImage): Promise<boolean> {
    const r = image.record;
    const paused = r.changed?.paused === true;
    try {
      await this.restoreDomain(image, { domid: r.domid, paused: true });
    } catch (err) {
      this.deps.log(`domain ${r.domid} '${r.name}' could not be restored from its image (${(err as Error).message}); it boots again`);
      return false;
    }
    await this.reapply(r.domid, r.name, r.changed ?? {});
    if (paused) this.recordChange(r.domid, { paused: true });
    else {
      this.domctl.unpauseDomain(r.domid);
      this.recordChange(r.domid, { paused: false });
      try {
        await this.bootKernel(r.domid);
      } catch (err) {
        // A kernel that cannot resume from its image boots instead (unpause would crash it, and on_crash might destroy it).
        this.deps.log(`domain ${r.domid} '${r.name}' could not resume from its image (${(err as Error).message}); it boots again`);
        await this.teardown(r.domid).catch(() => {});
        return false;
      }
    }
    this.deps.log(`domain ${r.domid} '${r.name}' ${paused ? 'restored from its image, paused (it resumes when unpaused)' : 'resumed from its image'}`);
    return true;
  }
}

/** The frames a domain is built with (its initial memory): the builder's special pages sit at the top of them. */
function builtPages(config: DomainConfig): number {
  return Math.ceil((config.memory * 1024) / 4);
}

/** A restore that failed, as the CLI reports it (the domain was not created). */
function restoreFailure(name: string, err: unknown): ToolstackError {
  const f = createFailure(name, err);
  return f === err ? f : new ToolstackError(f.code, f.message.replace(/^cannot create domain/, 'cannot restore domain'));
}

/** A create that failed, as the CLI reports it: the errno name and what went wrong. */
function createFailure(name: string, err: unknown): ToolstackError {
  if (err instanceof ToolstackError) return err;
  const code = err instanceof HypervisorError ? err.code : err instanceof XsRequestError ? err.errno : 'EIO';
  return new ToolstackError(code, `cannot create domain '${name}': ${(err as Error).message}`);
}

/**
 * cpus / cpus_soft: one list for every vCPU, or one per vCPU (the last one repeating
 * for vCPUs beyond the list, as xl does).
 */
function applyAffinity(domctl: Domctl, domain: Domain, config: DomainConfig, pcpus: number): void {
  const pick = (spec: string | string[] | undefined, vcpu: number): number[] | null => {
    if (spec === undefined) return null;
    const s = typeof spec === 'string' ? spec : spec[Math.min(vcpu, spec.length - 1)]!;
    return expandCpuList(s, pcpus);
  };
  for (const v of domain.vcpus) domctl.setVcpuAffinity(domain.domid, v.id, pick(config.cpus, v.id), pick(config.cpus_soft, v.id));
}
