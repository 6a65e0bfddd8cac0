import { ensureDaemon, reachDaemon } from '../../src/client/daemon.js';
import { XenemuCommand } from '../../src/cli/base-command.js';
import type { HostStatus } from '../../src/host/host.js';

export default class HostStart extends XenemuCommand {
  static override summary = 'Start the emulated host daemon (other commands start it on demand)';
  static override description = `The daemon serves the xenstored socket (the real xenstore-* tools, libxenstore and pyxs work against it), a read-only socket like xenstored's socket_ro, and the control socket of the CLI. Its state lives in $XENEMU_HOME, else $XDG_STATE_HOME/xenemu, else ~/.local/state/xenemu. Starting a running host does nothing.`;
  static override examples = ['<%= config.bin %> host start', 'XENEMU_HOME=/tmp/lab <%= config.bin %> host start --json'];
  static override enableJsonFlag = true;

  async run(): Promise<{ started: boolean; status: HostStatus }> {
    await this.parse(HostStart);
    const started = await ensureDaemon(this.paths);
    const rpc = await reachDaemon(this.paths);
    if (rpc === null) this.error('the daemon started but does not answer', { exit: 1 });
    const status = await rpc.call<HostStatus>('host.status');
    rpc.close();
    this.log(`${started ? 'started' : 'already running:'} xenemu host pid ${status.pid} in ${status.home}`);
    return { started, status };
  }
}
