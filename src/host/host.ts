import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XsClient } from '../client/xs-client.js';
import { RealClock, type Clock } from '../hypervisor/clock.js';
import { defaultHostModel, type HostModel } from '../hypervisor/host-model.js';
import { Hypercalls } from '../hypervisor/hypercalls.js';
import { Hypervisor } from '../hypervisor/hypervisor.js';
import { engineTransport } from '../kernel/engine-transport.js';
import { Kernel } from '../kernel/kernel.js';
import type { DomainRecord } from '../toolstack/toolstack.js';
import { Toolstack } from '../toolstack/toolstack.js';
import { VERSION } from '../version.js';
import type { NodeRecord } from '../xenstore/database.js';
import type { QuotaLimits } from '../xenstore/quota.js';
import type { Change } from '../xenstore/store.js';
import { XenStored } from '../xenstore/xenstored.js';
import { ConsoleService } from './console-service.js';
import { ControlServer, type RpcMethod } from './control-server.js';
import { domainMethods } from './domain-service.js';
import type { StatePaths } from './state-dir.js';
import { XsRingService } from './xs-ring-service.js';
import { XsSocketServer } from './xs-server.js';

/** What the host needs from the persistence layer. */
export interface StoreBackend {
  loadRecords(): Iterable<NodeRecord>;
  /** Buffer changes; cheap, no I/O. */
  append(changes: Change[]): void;
  /** Make everything appended durable against a crash of this process. */
  flush(): void;
  close(): Promise<void>;
  stats(): Record<string, number | string>;
  /** Host-level settings, journalled like store changes. */
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string | null): void;
}

export interface HostOptions {
  paths: StatePaths;
  backend: StoreBackend;
  quota?: Partial<QuotaLimits>;
  host?: Partial<HostModel>;
  /** dom0's memory in MiB (default: an eighth of the host's, at most 2 GiB). */
  dom0MemoryMiB?: number;
  clock?: Clock;
  log: (line: string) => void;
  /** Called when a client asks the host to stop (the daemon exits after it). */
  onStopRequest?: () => void;
}

export interface HostStatus {
  pid: number;
  version: string;
  home: string;
  socket: string;
  socketRo: string;
  control: string;
  startedAt: string;
  uptimeSeconds: number;
  nodes: number;
  connections: number;
  domains: number;
  rssBytes: number;
  persistence: Record<string, number | string>;
}

/** Meta keys of the toolstack's own state. */
const META_DOMAINS = 'toolstack/domains';
const META_DOMID_CURSOR = 'toolstack/next-domid';

/** Xen's own frame for dom0's shared_info (any value outside dom0's memory). */
const DOM0_SHARED_INFO_MFN = 0x3ffffff;

/**
 * The emulated host: the hypervisor with dom0 and its kernel, xenstored on its
 * sockets and on the domains' rings, the console backend, the toolstack, the control
 * socket for the CLI, and the store's persistence. One per state directory (the
 * daemon holds the lock).
 */
export class Host {
  readonly xs: XenStored;
  readonly hv: Hypervisor;
  private readonly xsServer: XsSocketServer;
  private readonly control: ControlServer;
  private readonly startedAt = new Date();
  private readonly rings: XsRingService;
  private readonly consoles: ConsoleService;
  private dom0Kernel!: Kernel;
  toolstack!: Toolstack;

  private constructor(private readonly options: HostOptions) {
    const { backend, log } = options;
    const clock = options.clock ?? new RealClock();
    this.hv = new Hypervisor(defaultHostModel(options.host), clock);
    this.rings = new XsRingService(this.hv, () => this.dom0Kernel);
    this.xs = new XenStored({
      quota: options.quota,
      log,
      domains: this.rings,
      onChanges: (changes) => {
        backend.append(changes);
        // Changes made outside a request (a domain dying) still need their flush.
        this.xsServer.scheduleFlush();
      },
      memoryReport: () => Object.entries(this.status().persistence).map(([k, v]) => `${k}: ${v}`),
    });
    this.rings.attach(this.xs);
    this.consoles = new ConsoleService(this.hv, () => this.dom0Kernel, join(options.paths.home, 'console'));
    this.xsServer = new XsSocketServer(this.xs, () => backend.flush(), log);
    this.control = new ControlServer({}, log);
  }

  static async start(options: HostOptions): Promise<Host> {
    const host = new Host(options);
    const { backend, paths } = options;
    host.xs.db.load(backend.loadRecords());
    // A new state dir: start from the tree a fresh xenstored has.
    if (host.xs.db.root.childCount === 0) host.xs.initialise(process.argv[1] ?? 'xenemu');
    await host.startDom0();
    host.startToolstack();
    const cursor = Number(backend.getMeta(META_DOMID_CURSOR));
    if (cursor > 0) host.hv.domidCursor = cursor;
    await host.toolstack.restore(JSON.parse(backend.getMeta(META_DOMAINS) ?? '[]') as DomainRecord[]);
    backend.flush();
    host.control.register(host.methods());
    await host.xsServer.listen(paths.socket, false);
    await host.xsServer.listen(paths.socketRo, true);
    await host.control.listen(paths.control);
    return host;
  }

  /**
   * Domain-0: created and unpaused with the host, its kernel booted like any other
   * (it reaches xenstored in-process, since xenstored runs "in" dom0), and its home
   * written as xen-init-dom0 writes it.
   */
  private async startDom0(): Promise<void> {
    const hv = this.hv;
    const memoryMiB = this.options.dom0MemoryMiB ?? Math.min(2048, Math.floor(hv.host.totalMemoryMiB / 8));
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
    hv.unpause(0);
    this.dom0Kernel = new Kernel({
      domid: 0,
      name: dom0.name,
      type: 'pv',
      vcpus: hv.host.pcpus,
      pages: dom0.memory.reservation,
      hc: new Hypercalls(hv, 0),
      clock: hv.clock,
      boot: { kind: 'dom0', xenstore: engineTransport(this.xs), sharedInfoGfn: DOM0_SHARED_INFO_MFN },
    });
    const xs = new XsClient(engineTransport(this.xs));
    await xs.write('/local/domain/0/name', dom0.name);
    await xs.write('/local/domain/0/domid', '0');
    await xs.write('/local/domain/0/memory/static-max', String(dom0.maxKiB));
    await xs.write('/local/domain/0/memory/target', String(dom0.targetKiB));
    xs.close();
    await this.dom0Kernel.boot();
    // Domain death reaches xenstored as VIRQ_DOM_EXC would: @releaseDomain.
    hv.onDomainEvent((e) => {
      if (e.kind === 'shutdown') this.xs.fireSpecial('@releaseDomain', e.domid);
    });
  }

  private startToolstack(): void {
    const { backend, log } = this.options;
    const records = new Map<number, DomainRecord>((JSON.parse(backend.getMeta(META_DOMAINS) ?? '[]') as DomainRecord[]).map((r) => [r.domid, r]));
    const saveAll = () => backend.setMeta(META_DOMAINS, JSON.stringify([...records.values()]));
    this.toolstack = new Toolstack({
      hv: this.hv,
      clock: this.hv.clock,
      xs: new XsClient(engineTransport(this.xs)),
      consoles: this.consoles,
      store: {
        save: (r) => {
          records.set(r.domid, r);
          saveAll();
        },
        forget: (domid) => {
          if (records.delete(domid)) saveAll();
        },
        saveDomidCursor: (next) => backend.setMeta(META_DOMID_CURSOR, String(next)),
      },
      log,
    });
  }

  private methods(): Record<string, RpcMethod> {
    return {
      ping: () => ({ pong: true }),
      'host.status': () => this.status(),
      'host.stop': () => {
        setImmediate(() => this.options.onStopRequest?.());
        return { stopping: true };
      },
      ...domainMethods(this.hv, this.toolstack, this.dom0Kernel, () => hostUptimeSeconds()),
    };
  }

  status(): HostStatus {
    const { paths, backend } = this.options;
    return {
      pid: process.pid,
      version: VERSION,
      home: paths.home,
      socket: paths.socket,
      socketRo: paths.socketRo,
      control: paths.control,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      nodes: this.xs.db.counts.total + 1,
      connections: this.xsServer.connectionCount,
      domains: this.hv.domains.size,
      rssBytes: process.memoryUsage.rss(),
      persistence: backend.stats(),
    };
  }

  /** Stop serving, then write out everything still buffered. Guests stay recorded. */
  async stop(): Promise<void> {
    await this.control.close();
    await this.xsServer.close();
    await this.consoles.close();
    this.options.backend.flush();
    await this.options.backend.close();
  }
}

/** dom0's uptime is the machine's, as `xl uptime` reads /proc/uptime. */
function hostUptimeSeconds(): number {
  try {
    return Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]));
  } catch {
    return Math.floor(process.uptime());
  }
}
