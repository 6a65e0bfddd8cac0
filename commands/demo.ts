import { ensureDaemon } from '../src/client/daemon.js';
import { XsClient } from '../src/client/xs-client.js';
import { XenemuCommand } from '../src/cli/base-command.js';
import { runDemo } from '../src/client/demo.js';

export default class Demo extends XenemuCommand {
  static override summary = 'Show the emulated host at work: start it, fill XenStore, watch it change';
  static override description = `Starts the host daemon if needed, then walks through XenStore the way a toolstack uses it: a transaction that writes a domain-like subtree, permissions, a watch that fires, a listing in xenstore-ls format. Everything it writes lives under /demo and is replaced on each run. Afterwards, \`eval "$(xenemu env)"\` points the real xenstore-* tools at the same store.`;
  static override examples = ['<%= config.bin %> demo'];

  async run(): Promise<void> {
    await this.parse(Demo);
    const paths = this.paths;
    const started = await ensureDaemon(paths);
    const xs = await XsClient.connect(paths.socket);
    try {
      await runDemo(xs, { started, paths }, (line) => this.log(line));
    } finally {
      xs.close();
    }
  }
}
