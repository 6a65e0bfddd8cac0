import { ensureDaemon } from '../src/client/daemon.js';
import { connectXsClient } from '../src/client/xs-socket.js';
import { XenemuCommand } from '../src/cli/base-command.js';
import { runDemo, runDomainDemo } from '../src/client/demo.js';
import { XlFailure, XlSession } from '../src/compat/xl-commands.js';
import { evtchnCall } from '../src/client/evtchn.js';
import { chalkFor } from '../src/ui/color.js';
import { formatVmstatPerCpu } from '../src/ui/interrupts.js';

export default class Demo extends XenemuCommand {
  static override summary = 'Show the emulated host at work: XenStore as a toolstack uses it, then real domains';
  static override description = `Starts the host daemon if needed, then walks through XenStore the way a toolstack uses it: a transaction that writes a domain-like subtree, permissions, a watch that fires, a listing in xenstore-ls format. Everything it writes there lives under /demo and is replaced on each run.

Then it creates the sample domains of configs/ (web.yaml and db.yaml, as demo-web and demo-db), lists them as \`xl list\` does, shuts demo-web down with -w, and shows what demo-db's interrupt layer has counted per vCPU. Domains of those names from an earlier run are destroyed first, so the demo can be run again. Afterwards, \`eval "$(xenemu env)"\` points the real xenstore-* tools at the same store.`;
  static override examples = ['<%= config.bin %> demo'];

  async run(): Promise<void> {
    await this.parse(Demo);
    const paths = this.paths;
    // Each numbered step's heading in bold, on a terminal that shows it.
    const c = chalkFor('stdout');
    const say = (line: string): void => this.log(line.replace(/^(\n?)(\d+\. .*)$/s, (_, nl: string, heading: string) => nl + c.bold(heading)));
    const started = await ensureDaemon(paths);
    const xs = await connectXsClient(paths.socket);
    try {
      await runDemo(xs, { started, paths }, say);
    } finally {
      xs.close();
    }
    // xl's progress lines ("Parsing config from", "Shutting down domain 1") go in the story too.
    const session = new XlSession(paths, (text) => this.log(text.trimEnd().replace(/^/gm, '   ')));
    try {
      await runDomainDemo(session, say);
    } catch (err) {
      if (err instanceof XlFailure) this.error(err.stderr.trimEnd(), { exit: err.exitStatus });
      throw err;
    } finally {
      session.close();
    }
    say('\n9. `xenemu interrupts -P demo-db`: what the guest\'s interrupt layer counted, per vCPU (FreeBSD\'s vmstat -i)');
    const stats = await evtchnCall(paths, 'intr.stats', { ref: 'demo-db' });
    this.log(formatVmstatPerCpu(stats).trimEnd().replace(/^/gm, '   '));
    this.log(`\n${c.bold('Next:')}`);
    this.log('  xenemu top                     xenemu evtchn list demo-db   xenemu vcpu-list -l demo-db');
    this.log('  xenemu dmesg demo-db           xenemu mem-set demo-db 1g    xenemu reboot -w demo-db');
    this.log('  eval "$(xenemu env)"; xenstore-ls /local/domain             bin/xl.js list   # the xl shim');
  }
}
