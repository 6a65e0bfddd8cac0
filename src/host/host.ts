import type { ConsoleLogLimits } from './console-log.js';
import type { LogLimits } from '../common/log-files.js';
import { consoleMethods } from './console-control.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RealClock, type Clock } from '../hypervisor/clock.js';
import type { HostModel } from '../hypervisor/host-model.js';
import type { DomainRecord } from '../toolstack/toolstack.js';
import { faultSummaries } from '../faults/summary.js';
import type { HostStatus } from '../protocol/host-rpc.js';
import { RPC_PARAMS } from '../protocol/methods.js';
import { VERSION } from '../version.js';
import type { NodeRecord } from '../xenstore/database.js';
import type { QuotaLimits } from '../xenstore/quota.js';
import type { Change } from '../xenstore/store.js';
import type { XenStored } from '../xenstore/xenstored.js';
import { durableAnswers } from './control-gate.js';
import { ControlServer, type RpcMethod } from './control-server.js';
import type { RecoveryReport } from './db/index.js';
import { blkMethods } from './blk-service.js';
import { netMethods } from './net-service.js';
import { deviceMethods } from './device-service.js';
import { domainMethods } from './domain-service.js';
import { schedMethods } from './sched-service.js';
import { saveRestoreMethods } from './saverestore-service.js';
import { DurabilityBarrier } from './durability.js';
import { evtchnMethods } from './evtchn-service.js';
import { XenbusSockets } from './exec-service.js';
import { DEFAULT_CHECKPOINT_INTERVAL_MS } from './domain-images.js';
import { Machine } from './machine.js';
import type { StatePaths } from '../state/state-dir.js';
import { statsMethods } from './stats-service.js';
import { xenbusMethods } from './xenbus-service.js';
import { faultMethods, faultSpec } from './fault-service.js';
import { migrateMethods } from './migrate-service.js';
import { faultParams, type FaultConfig } from '../faults/config.js';
import { XsSocketServer } from './xs-server.js';

/** What the host needs from the persistence layer. */
export interface StoreBackend {
  loadRecords(): Iterable<NodeRecord>;
  /** Buffer changes; cheap, no I/O. */
  append(changes: Change[]): void;
  /** Make everything appended durable against a crash of this process; the bytes written (0: nothing was due). */
  flush(): number;
  /** Flush, then close; rejects (after closing) if the journal cannot be written. */
  close(): Promise<void>;
  stats(): Record<string, number | string>;
  /** What start-up recovery found and did (none for a store without a journal). */
  readonly recovery?: RecoveryReport;
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
  /** Write dom0's name and domid to XenStore as xen-init-dom0 does (default: no, as
   * with `xenstored --no-domain-init`, so relative paths of dom0 start empty). */
  xenInitDom0?: boolean;
  clock?: Clock;
  /** When guests' console logs rotate (host.yaml's console_log_max_kib, console_log_backups). */
  consoleLog?: ConsoleLogLimits;
  /** The bridges dom0 has (host.yaml's bridges). */
  bridges?: readonly string[];
  /** When captures rotate (host.yaml's capture_max_kib, capture_backups). */
  captureLimits?: LogLimits;
  log: (line: string) => void;
  /** Called when a client asks the host to stop (the daemon exits after it). */
  onStopRequest?: () => void;
  /** What the host-kill fault does: the daemon kills itself with SIGKILL. */
  kill?: (why: string) => void;
  /** Faults of host.yaml, added once the host runs. */
  faults?: readonly FaultConfig[];
  /** How often each running guest is checkpointed into its image (host.yaml's checkpoint_interval_ms; 0: never). */
  checkpointIntervalMs?: number;
}

/** Meta keys of the toolstack's own state. */
const META_DOMAINS = 'toolstack/domains';
const META_DOMID_CURSOR = 'toolstack/next-domid';

/**
 * The daemon's host: the emulated machine (hypervisor, dom0, xenstored, consoles,
 * toolstack) behind xenstored's sockets and the CLI's control socket, with the store
 * and the toolstack's records persisted. One per state directory (the daemon holds the
 * lock).
 */
export class Host {
  private readonly startedAt = new Date();
  private xsServer!: XsSocketServer;
  /** Each domain kernel's xenbus device, for `xenemu exec`. */
  private xenbusSockets!: XenbusSockets;
  private readonly control: ControlServer;
  /** Every answer, on either socket, waits here for the journal write holding its change. */
  private readonly barrier: DurabilityBarrier;
  machine!: Machine;

  private constructor(private readonly options: HostOptions) {
    this.barrier = new DurabilityBarrier(
      () => {
        // A journal write done: a point host-kill can strike at, before anyone hears of it.
        if (options.backend.flush() > 0) this.machine?.hostFaults.at('flush');
      },
      { journalDir: options.paths.journalDir, log: options.log },
    );
    this.control = new ControlServer(RPC_PARAMS, options.log, durableAnswers(this.barrier));
  }

  get xs(): XenStored {
    return this.machine.xs;
  }

  static async start(options: HostOptions): Promise<Host> {
    const host = new Host(options);
    const { backend, paths, log } = options;
    const barrier = host.barrier;
    // Whatever changes is written at the end of its turn, answered or not (a domain
    // dying, a guest writing through its ring): answers only have to wait for that.
    const setMeta = (key: string, value: string): void => {
      backend.setMeta(key, value);
      barrier.schedule();
    };
    host.machine = await Machine.boot({
      clock: options.clock ?? new RealClock(),
      ...(options.host ? { host: options.host } : {}),
      ...(options.dom0MemoryMiB !== undefined ? { dom0MemoryMiB: options.dom0MemoryMiB } : {}),
      ...(options.xenInitDom0 !== undefined ? { xenInitDom0: options.xenInitDom0 } : {}),
      ...(options.quota ? { quota: options.quota } : {}),
      storeRecords: backend.loadRecords(),
      // A hotplug script's xenstore-write reaches this host, as `xenemu env` arranges.
      hotplugEnv: { XENEMU_HOME: options.paths.home, XENSTORED_PATH: options.paths.socket },
      onStoreChanges: (changes) => {
        backend.append(changes);
        barrier.schedule();
      },
      state: {
        domains: () => JSON.parse(backend.getMeta(META_DOMAINS) ?? '[]') as DomainRecord[],
        saveDomains: (records) => setMeta(META_DOMAINS, JSON.stringify(records)),
        domidCursor: () => Number(backend.getMeta(META_DOMID_CURSOR)) || undefined,
        saveDomidCursor: (next) => setMeta(META_DOMID_CURSOR, String(next)),
      },
      consoleDir: join(paths.home, 'console'),
      ...(options.consoleLog ? { consoleLog: options.consoleLog } : {}),
      ...(options.bridges ? { bridges: options.bridges } : {}),
      ...(options.captureLimits ? { captureLimits: options.captureLimits } : {}),
      daemonPath: process.argv[1] ?? 'xenemu',
      log,
      memoryReport: () => Object.entries(host.status().persistence).map(([k, v]) => `${k}: ${v}`),
      ...(options.kill ? { kill: options.kill } : {}),
      images: { checkpointIntervalMs: options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS },
    });
    for (const item of options.faults ?? []) addHostConfigFault(host.machine, item);
    backend.flush();
    host.xsServer = new XsSocketServer(host.xs, barrier, log);
    host.xenbusSockets = new XenbusSockets(host.machine, paths.home, barrier, log);
    host.control.register(host.methods());
    await host.xsServer.listen(paths.socket, false);
    await host.xsServer.listen(paths.socketRo, true);
    await host.control.listen(paths.control);
    return host;
  }

  private methods(): Record<string, RpcMethod> {
    return {
      ping: () => ({ pong: true }),
      'host.status': () => this.status(),
      'host.stop': () => {
        setImmediate(() => this.options.onStopRequest?.());
        return { stopping: true };
      },
      ...domainMethods(this.machine, () => hostUptimeSeconds()),
      ...deviceMethods(this.machine),
      ...statsMethods(this.machine),
      ...evtchnMethods(this.machine),
      ...blkMethods(this.machine),
      ...xenbusMethods(this.machine),
      ...netMethods(this.machine),
      ...consoleMethods(this.machine),
      ...faultMethods(this.machine),
      ...migrateMethods(this.machine),
      ...saveRestoreMethods(this.machine),
      ...schedMethods(this.machine),
      ...this.xenbusSockets.methods(),
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
      domains: this.machine.hv.domains.size,
      rssBytes: process.memoryUsage.rss(),
      persistence: { journal: this.barrier.health, ...backend.stats() },
      recovery: backend.recovery ?? null,
      faults: faultSummaries(this.machine.faults),
    };
  }

  /**
   * Stop serving, then write out everything still buffered. Guests stay recorded. If
   * the journal still cannot be written, what it could not take was never
   * acknowledged (its answers were held): say so and stop anyway.
   */
  async stop(): Promise<void> {
    await this.control.close();
    // Before the store's sockets close: suspending a guest talks to it through XenStore.
    await this.machine.saveAll();
    await this.xsServer.close();
    this.xenbusSockets.close();
    this.barrier.close();
    await this.machine.close();
    try {
      // close() writes out what is buffered first.
      await this.options.backend.close();
    } catch (err) {
      this.options.log(`stopping without writing the last unacknowledged changes: ${(err as Error).message}`);
    }
  }
}

/**
 * A fault of host.yaml: aimed as its target says. One whose domain is not there (yet)
 * is left out and logged, not fatal: the host must start to be repaired.
 */
function addHostConfigFault(machine: Machine, item: FaultConfig): void {
  try {
    machine.faults.add(faultSpec(faultParams(item, item.target ?? null), (ref) => {
      const d = machine.toolstack.find(ref);
      return { domid: d.domid, name: d.name };
    }));
  } catch (err) {
    machine.hv.log(`host.yaml: fault ${item.kind} not added: ${(err as Error).message}`);
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
