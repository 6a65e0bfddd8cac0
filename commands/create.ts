import { Args, Flags } from '@oclif/core';
import { type XlCreateResult } from '../src/compat/xl-commands.js';
import { XlCommand } from '../src/compat/xl-command.js';

export default class Create extends XlCommand {
  static override summary = 'Create a domain from a config file, like xl create';
  static override description = `CONFIG is a YAML domain config (configs/*.yaml, with configs/schema.json for editors) or an xl.cfg as \`xl create\` reads it. KEY=VALUE arguments after it are applied on top, with xl.cfg syntax: strings are quoted (name="web2"), lists are [ ... ], and KEY+=VALUE appends to a list.

Prints "Parsing config from CONFIG" on standard error, like xl, and nothing else on success; the domain boots unless -p leaves it paused (\`xenemu unpause\` starts it). -n prints the configuration as xl would hand it to libxl (libxl's JSON) and creates nothing, without needing the host daemon.

A config error names file:line:column and the key, and exits 1. When the host refuses the domain (its name is taken, not enough free memory, ...) the reason is printed and the exit status is 3, as xl's; nothing of the domain is left behind.`;

  static override examples = [
    '<%= config.bin %> create configs/web.yaml',
    `<%= config.bin %> create configs/web.yaml 'name="web2"' memory=1024`,
    '<%= config.bin %> create -p configs/db.yaml   # created paused',
    '<%= config.bin %> create -c configs/web.yaml  # and attach to its console (Ctrl-] detaches)',
    '<%= config.bin %> create -n configs/web.yaml  # print the configuration, create nothing',
    '<%= config.bin %> create /etc/xen/legacy.cfg vcpus=4',
  ];

  static override strict = false;

  static override args = {
    config: Args.string({ required: false, description: 'domain config: YAML or xl.cfg (or give it with -f)' }),
  };

  static override flags = {
    paused: Flags.boolean({ char: 'p', description: 'leave the domain paused after it is created' }),
    'dry-run': Flags.boolean({ char: 'n', aliases: ['dryrun'], description: 'print the resulting configuration (libxl JSON) and create nothing' }),
    quiet: Flags.boolean({ char: 'q', description: 'do not print "Parsing config from ..."' }),
    defconfig: Flags.string({ char: 'f', description: 'the config file (instead of the CONFIG argument)' }),
    debug: Flags.boolean({ char: 'd', description: 'print the resulting configuration on standard error, then create' }),
    console: Flags.boolean({ char: 'c', description: "attach to the domain's console once it is created (as `xenemu console`; Ctrl-] detaches)" }),
    verbose: Flags.boolean({ char: 'v', description: 'also warn of config keys xenemu does not emulate and of deprecated forms (xl says nothing of these)' }),
  };

  async run(): Promise<XlCreateResult> {
    return this.runVerb('create', await this.parse(Create));
  }
}
