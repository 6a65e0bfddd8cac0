import type { StatePaths } from '../state/state-dir.js';
import type { DomainMethod, DomainRpc } from '../protocol/domain-rpc.js';
import type { DomainConfig, StoredGivenKeys } from '../toolstack/config/index.js';
import type { XlDomainRow, XlInfo, XlListLongEntry, XlUptimeRow, XlVcpuRow } from '../toolstack/libxl/rows.js';
import { RpcCallError, RpcClient } from './rpc-client.js';
import { TypedClient } from './typed-client.js';

type Params<M extends DomainMethod> = DomainRpc[M]['params'];
type Result<M extends DomainMethod> = DomainRpc[M]['result'];

/**
 * The xl-like control methods of the daemon, typed (src/protocol/domain-rpc.ts). A
 * domain is named by `ref`: its id or its name, as the daemon resolves it; the xl
 * commands resolve names the xl way first (src/compat/xl-commands.ts) and pass ids.
 * Failures are RpcCallErrors whose `code` is the errno name (ESRCH, EEXIST, ...).
 */
export class DomainClient extends TypedClient<DomainRpc> {
  /**
   * Connect to the state dir's daemon, starting it when `start` (the default) and
   * nothing answers. The daemon starter (and with it SQLite) is loaded only then.
   */
  static async connect(paths: StatePaths, options: { start?: boolean } = {}): Promise<DomainClient> {
    try {
      return new DomainClient(await RpcClient.connect(paths.control));
    } catch (err) {
      if (options.start === false) throw err;
    }
    const { ensureDaemon } = await import('./daemon.js');
    await ensureDaemon(paths);
    return new DomainClient(await RpcClient.connect(paths.control));
  }

  create(config: DomainConfig, options: { paused: boolean; source?: string; given?: StoredGivenKeys }): Promise<Result<'domain.create'>> {
    return this.call('domain.create', {
      config,
      paused: options.paused,
      ...(options.source !== undefined ? { source: options.source } : {}),
      ...(options.given !== undefined ? { given: options.given } : {}),
    });
  }

  /** Create from a config file the daemon reads (its absolute path, and its name as typed for messages). */
  createFile(params: Params<'domain.createFile'>): Promise<Result<'domain.createFile'>> {
    return this.call('domain.createFile', params);
  }

  list(refs?: readonly string[]): Promise<XlDomainRow[]> {
    return this.call('domain.list', refs === undefined ? {} : { refs: [...refs] });
  }

  listLong(refs?: readonly string[]): Promise<XlListLongEntry[]> {
    return this.call('domain.listLong', refs === undefined ? {} : { refs: [...refs] });
  }

  destroy(ref: string): Promise<null> {
    return this.call('domain.destroy', { ref });
  }

  /** Ask guests to power off or reboot; with `wait`, until they have shut down. */
  shutdown(params: Params<'domain.shutdown'>): Promise<Result<'domain.shutdown'>> {
    return this.call('domain.shutdown', params);
  }

  sysrq(ref: string, key: string): Promise<null> {
    return this.call('domain.sysrq', { ref, key });
  }

  trigger(ref: string, trigger: Params<'domain.trigger'>['trigger'], vcpu: number): Promise<null> {
    return this.call('domain.trigger', { ref, trigger, vcpu });
  }

  pause(ref: string): Promise<null> {
    return this.call('domain.pause', { ref });
  }

  unpause(ref: string): Promise<null> {
    return this.call('domain.unpause', { ref });
  }

  rename(ref: string, name: string): Promise<null> {
    return this.call('domain.rename', { ref, name });
  }

  /** The id of the domain called `name`; ESRCH when there is none. */
  domid(name: string): Promise<number> {
    return this.call('domain.domid', { name });
  }

  /** The name of domain `domid`; ESRCH when there is none. */
  domname(domid: number): Promise<string> {
    return this.call('domain.domname', { domid });
  }

  uptime(refs?: readonly string[]): Promise<XlUptimeRow[]> {
    return this.call('domain.uptime', refs === undefined ? {} : { refs: [...refs] });
  }

  /** The hypervisor's console log, or with `ref` that guest kernel's log: lines without newlines. `clear` empties it once read. */
  dmesg(ref?: string, clear = false): Promise<string[]> {
    return this.call('domain.dmesg', { ...(ref === undefined ? {} : { ref }), ...(clear ? { clear } : {}) });
  }

  /** XEN_SYSCTL_debug_keys: each key's handler prints to the hypervisor's console (dmesg). */
  debugKeys(keys: string): Promise<null> {
    return this.call('host.debugKeys', { keys });
  }

  async hostInfo(): Promise<XlInfo> {
    const info = await this.call('host.info', {});
    // JSON has no u64: a value a double cannot hold exactly may come as its decimal text.
    const v = info.version;
    if (v !== undefined && typeof v.virt_start === 'string') v.virt_start = BigInt(v.virt_start);
    return info;
  }

  vcpuList(refs?: readonly string[]): Promise<{ rows: XlVcpuRow[]; nrCpus: number }> {
    return this.call('vcpu.list', refs === undefined ? {} : { refs: [...refs] });
  }

  vcpuPin(params: Params<'vcpu.pin'>): Promise<null> {
    return this.call('vcpu.pin', params);
  }

  vcpuSet(ref: string, count: number): Promise<null> {
    return this.call('vcpu.set', { ref, count });
  }

  memSet(ref: string, kib: number): Promise<null> {
    return this.call('mem.set', { ref, kib });
  }

  memMax(ref: string, kib: number): Promise<null> {
    return this.call('mem.max', { ref, kib });
  }

}

/** Whether `err` is the daemon's answer with this errno name. */
export function isRpcError(err: unknown, code?: string): err is RpcCallError {
  return err instanceof RpcCallError && (code === undefined || err.code === code);
}
