import { Command } from '@oclif/core';
import { DaemonError } from '../client/daemon.js';
import { RpcCallError } from '../client/rpc-client.js';
import { XsRequestError } from '../client/xs-client.js';
import { resolveHome, StateDirError, statePaths, type StatePaths } from '../state/state-dir.js';
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
    if (err instanceof ConfigError) {
      // Each problem on its own line, "file:line:column: key: message", like a compiler.
      this.logToStderr(err.message);
      this.exit(err.exitCode);
    }
    if (err instanceof DaemonError || err instanceof StateDirError || err instanceof RpcCallError || err instanceof XsRequestError) {
      this.logToStderr(`xenemu: ${err.message}`);
      this.exit(1);
    }
    return super.catch(err);
  }
}
