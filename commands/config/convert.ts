import { writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { XenemuCommand } from '../../src/cli/base-command.js';
import { chalkFor } from '../../src/ui/color.js';
import { ConfigError, formatIssue, loadDomainConfig, toXlCfg, toYaml, warningsToShow, type ConfigFormat } from '../../src/toolstack/config/index.js';

export default class ConfigConvert extends XenemuCommand {
  static override summary = 'Convert a domain config between YAML and xl.cfg';
  static override description = `Reads FILE, a YAML domain config or an xl.cfg as \`xl create\` takes it (the format is told by the extension, .yaml/.yml or .cfg, else by the content), checks it, and writes it in the other format (or the one --to names) to standard output or to --output.

KEY=VALUE arguments after FILE override the file's settings as they do for \`xl create\`: KEY=VALUE replaces, KEY+=VALUE appends, and VALUE uses the xl.cfg syntax ("string", number, [ list ]).

Keys xl knows but xenemu does not emulate are left out (and, with -v, reported as warnings, as are deprecated forms such as phy:); anything else wrong is an error naming file:line:column and the key, and the exit status is 1, as for xl's parse errors. Defaults are left out of the output, so converting back gives the same configuration.`;

  static override examples = [
    '<%= config.bin %> config convert /etc/xen/web.cfg > web.yaml',
    '<%= config.bin %> config convert configs/web.yaml --to xlcfg -o web.cfg',
    "<%= config.bin %> config convert web.cfg memory=1024 'vif=[\"bridge=br1\"]'",
    '<%= config.bin %> config convert web.yaml --to yaml   # check and normalise',
  ];

  static override strict = false;

  static override args = {
    file: Args.string({ required: true, description: 'domain config file: YAML or xl.cfg' }),
  };

  static override flags = {
    to: Flags.option({ options: ['yaml', 'xlcfg'] as const, description: 'output format; default: the other one' })(),
    output: Flags.string({ char: 'o', description: 'write to this file instead of standard output' }),
    verbose: Flags.boolean({ char: 'v', description: 'also warn of keys xenemu does not emulate and of deprecated forms (xl says nothing of these)' }),
  };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(ConfigConvert);
    const overrides = (argv as string[]).slice(1);
    const c = chalkFor('stderr');
    let loaded;
    try {
      // Relative paths stay as written: the output is another config file.
      loaded = loadDomainConfig(args.file, overrides, { resolvePaths: false });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const issue of e.issues) this.logToStderr(c.red(`xenemu: ${formatIssue(issue)}`));
      this.exit(e.exitStatus);
    }
    for (const w of warningsToShow(loaded.warnings, flags.verbose)) this.logToStderr(`xenemu: ${c.yellow('warning:')} ${formatIssue(w)}`);
    const to: ConfigFormat = flags.to ?? (loaded.format === 'yaml' ? 'xlcfg' : 'yaml');
    const header = `# Converted from ${basename(args.file)} by xenemu config convert.`;
    const body = to === 'yaml' ? `${header}\n# Keys are xl.cfg(5)'s; configs/schema.json describes them.\n${toYaml(loaded.config)}` : `${header}\n${toXlCfg(loaded.config)}`;
    if (flags.output === undefined) {
      process.stdout.write(body);
      return;
    }
    if (resolve(flags.output) === resolve(args.file)) {
      this.logToStderr(c.red('xenemu: --output names the input file; write the conversion somewhere else'));
      this.exit(1);
    }
    writeFileSync(flags.output, body);
  }
}
