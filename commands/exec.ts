import { Args } from '@oclif/core';
import { XenemuCommand } from '../src/cli/base-command.js';
import { domainXenbusSocket, runInDomain } from '../src/client/exec.js';

export default class Exec extends XenemuCommand {
  static override summary = 'Run a command inside a domain, as a program in that guest';
  static override description = `Runs COMMAND on this machine with XENSTORED_PATH pointing at the xenbus device of DOM's emulated kernel (Linux's /dev/xen/xenbus): the real xenstore-read, xenstore-ls, xenstore-watch, pyxs and libxenstore programs then reach XenStore through that guest's ring, as that domain, exactly as an agent running in the guest would. Relative paths resolve to /local/domain/<domid>/, the domain's permissions and quotas apply, and watches fire through its ring. The guest's interrupt statistics (xenemu interrupts, xenemu top) count what the command causes.

Without COMMAND, opens an interactive shell ($SHELL) with that environment and a prompt naming the domain. The command or shell is hung up (SIGHUP) when the domain shuts down or is destroyed, with a message saying so, and exec then exits 1; otherwise it exits with the command's status. XENEMU_DOMAIN and XENEMU_DOMID name the domain in the command's environment.`;
  static override examples = [
    '<%= config.bin %> exec web xenstore-read name',
    '<%= config.bin %> exec web -- xenstore-ls -f device',
    "<%= config.bin %> exec web -- python3 -c 'import pyxs; print(pyxs.Client().read(b\"domid\"))'",
    '<%= config.bin %> exec web',
  ];
  // Everything after DOM is the command's, its options included.
  static override strict = false;
  static override args = {
    // Standard input is the command's, never read for an argument (oclif would, when it is a pipe).
    dom: Args.string({ required: true, description: 'domain id or name', ignoreStdin: true }),
    command: Args.string({ required: false, description: 'command and its arguments (default: an interactive shell)', ignoreStdin: true }),
  };

  async run(): Promise<void> {
    const [first, ...rest] = this.argv;
    // exec's own parser sees DOM only (or a leading --help): the rest is the command's.
    const { args } = await this.parse(Exec, first === undefined || first.startsWith('-') ? this.argv : [first]);
    const command = rest[0] === '--' ? rest.slice(1) : rest;
    const d = await domainXenbusSocket(this.paths, args.dom);
    process.exitCode = await runInDomain(d, command, this.paths, (line) => process.stderr.write(`xenemu exec: ${line}\n`));
  }
}
