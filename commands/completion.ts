import { Args } from '@oclif/core';
import { XenemuCommand } from '../src/cli/base-command.js';
import { bashScript } from '../src/cli/completion/script.js';

export default class Completion extends XenemuCommand {
  static override summary = 'Print the shell code for Tab completion';
  static override description = `Completes commands and flags, file names where an argument is a file (create CONFIG, config check and convert), domain names where it is a domain (asked of the running host daemon; none is started), and XenStore paths for the xenstore commands (the children of the path typed so far). Load it in ~/.bashrc with

  eval "$(xenemu completion bash)"`;
  static override examples = ['eval "$(<%= config.bin %> completion bash)"', '<%= config.bin %> completion bash > ~/.local/share/bash-completion/completions/xenemu'];
  static override args = { shell: Args.string({ options: ['bash'], default: 'bash', description: 'the shell' }) };

  async run(): Promise<void> {
    await this.parse(Completion);
    process.stdout.write(bashScript(this.config.bin));
  }
}
