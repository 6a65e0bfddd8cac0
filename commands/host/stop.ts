import { reachDaemon } from '../../src/client/daemon.js';
import { XenemuCommand } from '../../src/cli/base-command.js';
import { TypedClient } from '../../src/client/typed-client.js';
import type { HostRpc } from '../../src/protocol/host-rpc.js';
import { FileLock } from '../../src/state/lock.js';

const STOP_WAIT_MS = 60_000;

export default class HostStop extends XenemuCommand {
  static override summary = 'Stop the emulated host daemon';
  static override description = 'Stops serving, writes everything still buffered to the database and exits. The store, and later the domains, come back on the next start. Stopping a stopped host does nothing.';
  static override examples = ['<%= config.bin %> host stop'];
  static override enableJsonFlag = true;

  async run(): Promise<{ stopped: boolean; pid?: number }> {
    await this.parse(HostStop);
    const rpc = await reachDaemon(this.paths);
    if (rpc === null) {
      this.log('xenemu host is not running');
      return { stopped: false };
    }
    const host = new TypedClient<HostRpc>(rpc);
    const { pid } = await host.call('host.status', {});
    await host.call('host.stop', {});
    host.close();
    // The daemon holds its lock until it has written everything out and exited.
    const lock = await FileLock.acquire(this.paths.daemonLock, STOP_WAIT_MS);
    if (lock === null) this.error(`xenemu host pid ${pid} did not stop within ${STOP_WAIT_MS / 1000} s; see ${this.paths.log}`, { exit: 1 });
    lock.release();
    this.log(`stopped xenemu host pid ${pid}`);
    return { stopped: true, pid };
  }
}
