import { Command } from '@oclif/core';
import { DaemonError } from '../client/daemon.js';
import { RpcCallError } from '../client/rpc-client.js';
import { XsRequestError } from '../protocol/xs-client.js';
import { resolveHome, StateDirError, statePaths, type StatePaths } from '../host/state-dir.js';
import { ConfigError } from '../toolstack/config/errors.js';

/**
 * What every xenemu command shares: the state dir, and one place that turns errors
 * into a message and an exit code (1 like xl and the xenstore tools; 2 for usage).
 */
export abstract class XenemuCommand extends Command {
  protected get paths(): StatePaths {
    return statePaths(resolveHome());
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (err instanceof ConfigError || err instanceof DaemonError || err instanceof StateDirError || err instanceof RpcCallError || err instanceof XsRequestError) {
      // In red on a terminal that shows colour; chalk is loaded only when there is an error.
      const { chalkFor } = await import('../ui/color.js');
      const red = chalkFor('stderr').red;
      if (err instanceof ConfigError) {
        // Each problem on its own line, "file:line:column: key: message", like a compiler.
        this.logToStderr(red(err.message));
        this.exit(err.exitCode);
      }
      this.logToStderr(red(`xenemu: ${err.message}`));
      this.exit(1);
    }
    return super.catch(err);
  }
}
