import { Args, Flags } from '@oclif/core';
import { XenemuCommand } from '../../src/cli/base-command.js';
import { runControl } from '../../src/compat/control-tool.js';
import { toByteString, toolName } from '../../src/compat/xenstore-args.js';

export default class XenstoreControl extends XenemuCommand {
  static override summary = 'Send a control command to xenstored, like xenstore-control';
  static override description = `Sends COMMAND and its ARGs as one XS_CONTROL request and prints the reply. The commands depend on the daemon: \`help\` lists them (oxenstored answers OK to everything it does not know). Exits 3 when the daemon refuses the command.`;
  static override examples = [
    '<%= config.bin %> xenstore control help',
    '<%= config.bin %> xenstore control quota 0',
    '<%= config.bin %> xenstore control memreport',
  ];
  static override strict = false;
  static override baseFlags = { help: Flags.help({ char: 'h' }) };
  static override args = {
    command: Args.string({ required: true, description: 'control command' }),
    arg: Args.string({ required: false, description: 'its arguments' }),
  };

  async run(): Promise<void> {
    // xenstore-control has no options: `live-update -F bin` is the daemon's business,
    // so the arguments go through as given (oclif has already answered --help).
    const args = this.argv[0] === '--' ? this.argv.slice(1) : this.argv;
    await this.parse(XenstoreControl, args.includes('-h') ? ['-h'] : ['--', ...args]);
    process.exitCode = await runControl('xenemu xenstore control', args.map(toByteString), {
      progname: toolName('control'),
      compatErrors: false,
      env: process.env,
    });
  }
}
