import { dirname, join } from 'node:path';
import { specCapturePath, vifCapturePath } from '../net/capture-path.js';
import { NetFabric } from '../net/fabric.js';
import { captureProblem } from '../net/pcap-writer.js';
import { VifRegistry, type VifEntry, type VifPort } from '../net/vif-registry.js';
import type { NetbackEvent } from '../kernel/net/netback.js';
import { XsClient } from '../protocol/xs-client.js';
import type { Clock } from '../hypervisor/clock.js';
import { defaultHostModel, type HostModel } from '../hypervisor/host-model.js';
import { Hypercalls } from '../hypervisor/hypercalls.js';
import { Hypervisor } from '../hypervisor/hypervisor.js';
import { engineTransport } from '../kernel/engine-transport.js';
import { Kernel } from '../kernel/kernel.js';
import { Toolstack, type DomainRecord } from '../toolstack/toolstack.js';
import type { NodeRecord } from '../xenstore/database.js';
import type { QuotaLimits } from '../xenstore/quota.js';
import type { Change } from '../xenstore/store.js';
import { XenStored } from '../xenstore/xenstored.js';
import type { ConsoleLogLimits } from './console-log.js';
import type { LogLimits } from '../common/log-files.js';
import { FaultRegistry } from '../faults/registry.js';
import { GuestFaults } from '../faults/guest-faults.js';
import { XsFaults } from '../faults/xs-faults.js';
import { HostFaults } from '../faults/host-faults.js';
import { NetFaults } from '../faults/net-faults.js';
import { DiskFaults } from '../faults/disk-faults.js';
import { applyConfigFaults } from './fault-service.js';
import { ConsoleService } from './console-service.js';
import { DomainImages } from './domain-images.js';
import { XsRingService } from './xs-ring-service.js';

/** Where the machine keeps the toolstack's own state between runs. */
export interface MachineState {
  domains(): DomainRecord[];
  saveDomains(records: DomainRecord[]): void;
  domidCursor(): number | undefined;
  saveDomidCursor(next: number): void;
}

export interface MachineOptions {
  clock: Clock;
  host?: Partial<HostModel>;
  /** dom0's memory in MiB (default: an eighth of the host's, at most 2 GiB). */
  dom0MemoryMiB?: number;
  /** Write dom0's name and domid to XenStore as xen-init-dom0 does (default: no, as
   * with `xenstored --no-domain-init`, so relative paths of dom0 start empty). */
  xenInitDom0?: boolean;
  quota?: Partial<QuotaLimits>;
  /** The store as it was (empty for a new host). */
  storeRecords?: Iterable<NodeRecord>;
  onStoreChanges?: (changes: Change[]) => void;
  state: MachineState;
  consoleDir: string;
  /** When guests' console logs rotate (default: DEFAULT_CONSOLE_LOG_LIMITS). */
  consoleLog?: ConsoleLogLimits;
  /** What /tool/xenstored holds in a new store. */
  daemonPath: string;
  log: (line: string) => void;
  memoryReport?: () => string[];
  /** Added to hotplug scripts' environment (XENSTORED_PATH: where their xenstore-write goes). */
  hotplugEnv?: Record<string, string>;
  /** The bridges dom0 has (host.yaml's bridges; default: xenbr0). */
  bridges?: readonly string[];
  /** When vif and bridge captures rotate (default: DEFAULT_CAPTURE_LIMITS). */
  captureLimits?: LogLimits;
  /** What the host-kill fault does (the daemon: SIGKILL itself). */
  kill?: (why: string) => void;
  /**
   * Keep the guests' images in <state dir>/images (the daemon does): restore from them
   * at boot, checkpoint each running guest every `checkpointIntervalMs` (0: never), and
   * save them all at saveAll(). Without it a restart boots the guests again.
   */
  images?: { checkpointIntervalMs: number };
}

/** Xen's own frame for dom0's shared_info (any value outside dom0's memory). */
const DOM0_SHARED_INFO_MFN = 0x3ffffff;

/**
 * The emulated machine without its doors: the hypervisor with dom0 and dom0's kernel,
 * xenstored (serving dom0 in-process and every guest through its ring), the console
 * backend, and the toolstack. The daemon puts sockets and persistence around it; tests
 * boot it in-process on a virtual clock.
 */
export class Machine {
  readonly hv: Hypervisor;
  readonly xs: XenStored;
  readonly consoles: ConsoleService;
  readonly rings: XsRingService;
  /** The vifs connected now, for the network fabric (bridges, captures). */
  readonly vifs = new VifRegistry();
  /** Bridges and capture files, following the vifs. */
  readonly net: NetFabric;
  private readonly vifEntries = new Map<VifPort, VifEntry>();
  /** Faults in force (`xenemu fault`), and the guest kinds' side of them. */
  readonly faults: FaultRegistry;
  private readonly guestFaults: GuestFaults;
  readonly hostFaults: HostFaults;
  private readonly diskFaults: DiskFaults;
  dom0!: Kernel;
  toolstack!: Toolstack;
  /** The guests' save files, when the machine keeps them (MachineOptions.images). */
  images: DomainImages | null = null;

  private constructor(private readonly options: MachineOptions) {
    this.hv = new Hypervisor(defaultHostModel(options.host), options.clock);
    this.faults = new FaultRegistry(this.hv.clock, (line) => this.hv.log(line));
    this.guestFaults = new GuestFaults(this.faults, this.hv.clock, {
      kernel: (domid) => (domid === 0 ? undefined : this.toolstack.kernel(domid)),
      hangVcpu: (domid, vcpu, hung) => this.hv.hangVcpu(domid, vcpu, hung),
    });
    this.diskFaults = new DiskFaults(this.faults, this.hv.clock, {
      // Whichever kernel serves the disk: dom0's, or a driver domain's.
      killBackends: (domid, devid, why) => [this.dom0, ...this.toolstack.kernels()].reduce((n, k) => n + (k.blkback?.kill(domid, devid, why) ?? 0), 0),
    });
    this.hostFaults = new HostFaults(this.faults, options.kill ?? ((why) => options.log(`${why} (not done: this machine has no process of its own to kill)`)));
    // xenstored and xenconsoled run in dom0.
    this.rings = new XsRingService(() => this.dom0);
    this.xs = new XenStored({
      quota: options.quota,
      faults: new XsFaults(this.faults, this.hv.clock, () => this.xs.quota),
      log: options.log,
      domains: this.rings,
      ...(options.onStoreChanges ? { onChanges: options.onStoreChanges } : {}),
      ...(options.memoryReport ? { memoryReport: options.memoryReport } : {}),
    });
    this.rings.attach(this.xs);
    this.consoles = new ConsoleService(() => this.dom0, options.consoleDir, options.log, options.consoleLog);
    const netFaults = new NetFaults(this.faults, this.hv.clock);
    this.net = new NetFabric(this.vifs, {
      home: this.stateDir,
      clock: options.clock,
      log: options.log,
      ...(options.bridges !== undefined ? { bridges: options.bridges } : {}),
      ...(options.captureLimits !== undefined ? { captureLimits: options.captureLimits } : {}),
      nicLayer: (vif, link) => netFaults.wrap(vif, link),
    });
  }

  /**
   * A netback (dom0's or a driver domain's) connected or disconnected a vif: the
   * registry gets it with what the daemon knows of it (the guest's name, the spec's
   * vifname= and capture=, the captures directory).
   */
  private vifEvent(e: NetbackEvent): void {
    if (e.type === 'disconnect') {
      const entry = this.vifEntries.get(e.vif);
      this.vifEntries.delete(e.vif);
      if (entry !== undefined) this.vifs.remove(entry);
      return;
    }
    const { domid, devid } = e.vif;
    const domain = this.hv.domains.get(domid)?.name ?? `domain-${domid}`;
    const spec = this.toolstack?.vifSpec(domid, devid);
    const entry: VifEntry = {
      ...e.vif,
      domain,
      name: spec?.vifname ?? `vif${domid}.${devid}`,
      capture: this.capturePath(domain, devid, spec?.capture),
    };
    this.vifEntries.set(e.vif, entry);
    this.vifs.add(entry);
  }

  /** The state dir: where console/ is (and captures/ goes). */
  private get stateDir(): string {
    return dirname(this.options.consoleDir);
  }

  /**
   * A vif's capture: captures/<domain>-<devid>.pcap, or its spec's capture= (a relative
   * one inside captures/). A capture= that climbs out is refused when the spec is
   * read; one that got past that (an older record) is logged and the default used.
   */
  private capturePath(domain: string, devid: number, capture: string | undefined): string {
    if (capture !== undefined) {
      try {
        return specCapturePath(this.stateDir, capture);
      } catch (err) {
        this.options.log(`${domain}: vif ${devid}: ${(err as Error).message}; capturing to the default file`);
      }
    }
    return vifCapturePath(this.stateDir, domain.replaceAll('/', '_'), String(devid));
  }

  /** The kernel running in a domain (dom0's included), if it has one. */
  kernel(domid: number): Kernel | undefined {
    return domid === 0 ? this.dom0 : this.toolstack.kernel(domid);
  }

  /** Load the store, boot dom0, then bring back the guests of the previous run. */
  static async boot(options: MachineOptions): Promise<Machine> {
    const m = new Machine(options);
    if (options.storeRecords) m.xs.db.load(options.storeRecords);
    // A new state dir: start from the tree a fresh xenstored has.
    if (m.xs.db.root.childCount === 0) m.xs.initialise(options.daemonPath);
    await m.bootDom0();
    m.startToolstack();
    const cursor = options.state.domidCursor();
    if (cursor !== undefined && cursor > 0) m.hv.domidCursor = cursor;
    const images = options.images === undefined ? null : new DomainImages(join(m.stateDir, 'images'), m.hv, () => m.toolstack, m.hv.clock, options.log);
    await m.toolstack.rebuildAfterRestart(options.state.domains(), images === null ? undefined : (r) => images.load(r.domid, r.uuid));
    if (images !== null) {
      m.images = images;
      // A domain gone is gone at the next start too.
      m.hv.onDomainEvent((e) => {
        if (e.kind === 'destroyed') images.remove(e.domid);
      });
      images.start(options.images!.checkpointIntervalMs);
    }
    return m;
  }

  /**
   * Domain-0: created and unpaused with the host, its kernel booted like any other (it
   * reaches xenstored in-process, since xenstored runs "in" dom0). Its name and domid
   * reach XenStore only when asked for (xen-init-dom0); the toolstack names dom0 from
   * the hypervisor either way.
   */
  private async bootDom0(): Promise<void> {
    const hv = this.hv;
    const memoryMiB = this.options.dom0MemoryMiB ?? Math.min(2048, Math.floor(hv.host.totalMemoryMiB / 8));
    // What a boot loader would have given Xen for this dom0 (its size, fixed).
    // A scheduler other than Xen's default was asked for on the command line too.
    hv.commandLine = `dom0_mem=${memoryMiB}M,max:${memoryMiB}M${hv.host.scheduler !== 'credit2' ? ` sched=${hv.host.scheduler}` : ''}`;
    // Xen's boot log from here on (__start_xen, construct_dom0).
    hv.log(`Command line: ${hv.commandLine}`);
    const dom0 = hv.createDomain({
      domid: 0,
      name: 'Domain-0',
      uuid: '00000000-0000-0000-0000-000000000000',
      type: 'pv',
      memoryKiB: memoryMiB * 1024,
      maxMemKiB: memoryMiB * 1024,
      maxVcpus: hv.host.pcpus,
      onlineVcpus: hv.host.pcpus,
    });
    hv.log('*** Building a PV Dom0 ***');
    hv.log(`Dom0 has maximum ${hv.host.pcpus} VCPUs`);
    hv.unpause(0);
    this.dom0 = new Kernel({
      domid: 0,
      name: dom0.name,
      type: 'pv',
      vcpus: hv.host.pcpus,
      pages: dom0.memory.reservation,
      hc: new Hypercalls(hv, 0),
      clock: hv.clock,
      boot: { kind: 'dom0', xenstore: engineTransport(this.xs), sharedInfoGfn: DOM0_SHARED_INFO_MFN },
      blkFaults: this.diskFaults,
      onVif: (e) => this.vifEvent(e),
    });
    const xs = new XsClient(engineTransport(this.xs));
    if (this.options.xenInitDom0 === true) {
      await xs.write('/local/domain/0/name', dom0.name);
      await xs.write('/local/domain/0/domid', '0');
    }
    await xs.write('/local/domain/0/memory/static-max', String(dom0.maxKiB));
    await xs.write('/local/domain/0/memory/target', String(dom0.targetKiB));
    xs.close();
    await this.dom0.boot();
    // Domain death reaches xenstored as VIRQ_DOM_EXC would: @releaseDomain.
    hv.onDomainEvent((e) => {
      if (e.kind === 'shutdown') this.xs.fireSpecial('@releaseDomain', e.domid);
    });
  }

  private startToolstack(): void {
    const { state, log } = this.options;
    const records = new Map<number, DomainRecord>(state.domains().map((r) => [r.domid, r]));
    this.toolstack = new Toolstack({
      hv: this.hv,
      onVif: (e) => this.vifEvent(e),
      bridgeExists: (name) => this.net.hasBridge(name),
      captureProblem: (domid, devid, capture) => {
        const domain = this.hv.domains.get(domid)?.name ?? `domain-${domid}`;
        const path = this.capturePath(domain, devid, capture);
        const problem = captureProblem(path);
        return problem === null ? null : `capture ${path}: ${problem}`;
      },
      clock: this.hv.clock,
      xs: new XsClient(engineTransport(this.xs)),
      storeDomid: this.rings.domid,
      consoles: this.consoles,
      store: {
        save: (r) => {
          records.set(r.domid, r);
          state.saveDomains([...records.values()]);
        },
        forget: (domid) => {
          if (records.delete(domid)) state.saveDomains([...records.values()]);
        },
        saveDomidCursor: (next) => state.saveDomidCursor(next),
      },
      log,
      ...(this.options.hotplugEnv ? { hotplugEnv: this.options.hotplugEnv } : {}),
      faults: {
        armed: () => this.guestFaults.armed,
        ignoresShutdown: (domid, command) => this.guestFaults.ignoresShutdown(domid, command),
        bootDelayMs: (domid) => this.guestFaults.bootDelayMs(domid),
        hotplugFails: (domid, script, action) => this.hostFaults.hotplugFails(domid, script, action)?.id ?? null,
        at: (point) => this.hostFaults.at(point),
        fromConfig: (domid, name, items) => applyConfigFaults(this.faults, { domid, name }, items),
        blk: this.diskFaults,
      },
      busHas: (domid, node) => {
        // A bus names its devices relative to its kernel's home; a kernel not booted has no busses yet.
        const k = this.kernel(domid);
        const home = `/local/domain/${domid}/`;
        return [k?.xenbusFront, k?.xenbusBack].some((bus) => bus?.devices.some((d) => d.node === node || d.node === home + node) === true);
      },
    });
    // A fault aimed at a domain ends with it (a rebooted guest is a new domain).
    this.hv.onDomainEvent((e) => {
      if (e.kind === 'destroyed') this.faults.forgetDomain(e.domid);
    });
  }

  /** `host stop`: every guest suspended into its image (when the machine keeps them), to resume at the next start. */
  async saveAll(): Promise<void> {
    await this.images?.saveAll();
  }

  /**
   * The machine goes away: every kernel stops first (the guests', then dom0's), as a
   * destroyed domain's does, so that what their drivers hold open is closed now (dom0's
   * blkback holds each disk's image), not left to the GC (Node's DEP0137) or to exit.
   */
  async close(): Promise<void> {
    for (const k of this.toolstack.kernels()) k.stop();
    this.dom0.stop();
    await this.consoles.close();
    this.net.close();
  }
}

/** A MachineState that lives only in memory (tests, dry runs). */
export function memoryState(): MachineState & { records: DomainRecord[] } {
  let records: DomainRecord[] = [];
  let cursor: number | undefined;
  return {
    get records() {
      return records;
    },
    domains: () => records,
    saveDomains: (r) => {
      records = r;
    },
    domidCursor: () => cursor,
    saveDomidCursor: (next) => {
      cursor = next;
    },
  };
}
