import { readFileSync } from 'node:fs';
import { reachDaemon } from '../../src/client/daemon.js';
import { XenemuCommand } from '../../src/cli/base-command.js';
import { TypedClient } from '../../src/client/typed-client.js';
import type { HostRpc, HostStatus } from '../../src/protocol/host-rpc.js';
import type { LastStart } from '../../src/state/last-start.js';
import { chalkFor } from '../../src/ui/color.js';
import { formatHostStatus, formatStopped } from '../../src/ui/host-status.js';

/** LSB's "program is not running" status code, also what `systemctl status` uses. */
const NOT_RUNNING = 3;

export default class HostStatusCommand extends XenemuCommand {
  static override summary = 'Show whether the host daemon runs, where, and how big its store is';
  static override description = 'Does not start the daemon. Exits 0 when it runs and 3 when it does not. Shows what the last start made of the store: what recovery replayed, and any damage it found (a stopped host shows why its last start refused the store).';
  static override examples = ['<%= config.bin %> host status', '<%= config.bin %> host status --json'];
  static override enableJsonFlag = true;

  async run(): Promise<{ running: boolean; status?: HostStatus; lastStart?: LastStart }> {
    await this.parse(HostStatusCommand);
    const rpc = await reachDaemon(this.paths);
    if (rpc === null) {
      const lastStart = readLastStart(this.paths.lastStart);
      this.log(formatStopped(this.paths.home, lastStart, chalkFor('stdout')));
      process.exitCode = NOT_RUNNING;
      return { running: false, ...(lastStart ? { lastStart } : {}) };
    }
    const status = await new TypedClient<HostRpc>(rpc).call('host.status', {});
    rpc.close();
    this.log(formatHostStatus(status, chalkFor('stdout')));
    return { running: true, status };
  }
}

/** The daemon's record of its last start, if there is a readable one. */
function readLastStart(path: string): LastStart | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LastStart;
  } catch {
    return undefined;
  }
}
