import { ensureDaemon } from '../src/client/daemon.js';
import { XenemuCommand } from '../src/cli/base-command.js';
import { formatEnv, prepareEnv, type EnvVariables } from '../src/compat/env.js';

export default class Env extends XenemuCommand {
  static override summary = 'Print shell exports that point xenstore scripts at the emulated host';
  static override description = `Starts the host if needed and prints XENEMU_HOME and XENSTORED_PATH (the xenstored socket, which libxenstore, the xenstore-* tools, libxl and pyxs all honour). For each xenstore tool missing from PATH (xenstore, xenstore-read, -write, -ls, -list, -rm, -exists, -chmod, -watch, xenstore-control) it links a compatible shim into $XENEMU_HOME/bin and appends that directory to PATH; installed tools are never shadowed (they are much faster).`;
  static override examples = [
    'eval "$(<%= config.bin %> env)"',
    'eval "$(XENEMU_HOME=/tmp/lab <%= config.bin %> env)" && xenstore-ls /local',
    '<%= config.bin %> env --json',
  ];
  static override enableJsonFlag = true;

  async run(): Promise<EnvVariables> {
    await this.parse(Env);
    await ensureDaemon(this.paths);
    const plan = prepareEnv(this.paths);
    if (!this.jsonEnabled()) process.stdout.write(formatEnv(plan));
    return plan.variables;
  }
}
