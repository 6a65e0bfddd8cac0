import { reachDaemon } from '../../src/client/daemon.js';
import { XenemuCommand } from '../../src/cli/base-command.js';
import type { HostStatus } from '../../src/host/host.js';
import { formatHostStatus } from '../../src/ui/host-status.js';

/** LSB's "program is not running" status code, also what `systemctl status` uses. */
const NOT_RUNNING = 3;

export default class HostStatusCommand extends XenemuCommand {
  static override summary = 'Show whether the host daemon runs, where, and how big its store is';
  static override description = 'Does not start the daemon. Exits 0 when it runs and 3 when it does not.';
  static override examples = ['<%= config.bin %> host status', '<%= config.bin %> host status --json'];
  static override enableJsonFlag = true;

  async run(): Promise<{ running: boolean; status?: HostStatus }> {
    await this.parse(HostStatusCommand);
    const rpc = await reachDaemon(this.paths);
    if (rpc === null) {
      this.log(`xenemu host: stopped (state dir ${this.paths.home})`);
      process.exitCode = NOT_RUNNING;
      return { running: false };
    }
    const status = await rpc.call<HostStatus>('host.status');
    rpc.close();
    this.log(formatHostStatus(status));
    return { running: true, status };
  }
}
