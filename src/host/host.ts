import { VERSION } from '../version.js';
import type { NodeRecord } from '../xenstore/database.js';
import type { QuotaLimits } from '../xenstore/quota.js';
import type { Change } from '../xenstore/store.js';
import { XenStored } from '../xenstore/xenstored.js';
import { ControlServer, type RpcMethod } from './control-server.js';
import type { StatePaths } from './state-dir.js';
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
}

export interface HostOptions {
  paths: StatePaths;
  backend: StoreBackend;
  quota?: Partial<QuotaLimits>;
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
  rssBytes: number;
  persistence: Record<string, number | string>;
}


/**
 * The emulated host: the xenstored engine on its sockets, the control socket for the
 * CLI, and the store's persistence. One per state directory (the daemon holds the lock).
 */
export class Host {
  readonly xs: XenStored;
  private readonly xsServer: XsSocketServer;
  private readonly control: ControlServer;
  private readonly startedAt = new Date();

  private constructor(private readonly options: HostOptions) {
    const { backend, log } = options;
    this.xs = new XenStored({
      quota: options.quota,
      log,
      onChanges: (changes) => {
        backend.append(changes);
        // Changes made outside a request (a domain dying) still need their flush.
        this.xsServer.scheduleFlush();
      },
      memoryReport: () => Object.entries(this.status().persistence).map(([k, v]) => `${k}: ${v}`),
    });
    this.xsServer = new XsSocketServer(this.xs, () => backend.flush(), log);
    this.control = new ControlServer(this.methods(), log);
  }

  static async start(options: HostOptions): Promise<Host> {
    const host = new Host(options);
    host.xs.db.load(options.backend.loadRecords());
    // A new state dir: start from the tree a fresh xenstored has.
    if (host.xs.db.root.childCount === 0) host.xs.initialise(process.argv[1] ?? 'xenemu');
    options.backend.flush();
    const { paths } = options;
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
      rssBytes: process.memoryUsage.rss(),
      persistence: backend.stats(),
    };
  }

  /** Stop serving, then write out everything still buffered. */
  async stop(): Promise<void> {
    await this.control.close();
    await this.xsServer.close();
    this.options.backend.flush();
    await this.options.backend.close();
  }
}
