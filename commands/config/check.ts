import { Args, Flags } from '@oclif/core';
import { XenemuCommand } from '../../src/cli/base-command.js';
import { chalkFor } from '../../src/ui/color.js';
import { ConfigError, formatIssue, loadDomainConfig, type ConfigIssue } from '../../src/toolstack/config/index.js';

/** What one file's check found: errors make it unusable, warnings do not. */
interface FileReport {
  file: string;
  ok: boolean;
  errors: readonly ConfigIssue[];
  warnings: readonly ConfigIssue[];
}

/** Read and validate one config with the loader `create` uses; never throws a ConfigError. */
function checkFile(file: string): FileReport {
  try {
    const { warnings } = loadDomainConfig(file, [], { resolvePaths: false });
    return { file, ok: true, errors: [], warnings };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { file, ok: false, errors: e.issues, warnings: [] };
  }
}

export default class ConfigCheck extends XenemuCommand {
  static override summary = 'Check domain configs (YAML or xl.cfg) without creating anything';
  static override description = `Reads each FILE as \`xenemu create\` would (YAML, or an xl.cfg as \`xl create\` takes it; the format is told by the extension, .yaml/.yml or .cfg, else by the content) and validates it, without starting the daemon.

Like a compiler or a linter it prints nothing for a good file, and one line per problem on standard error: FILE:LINE:COLUMN: KEY: MESSAGE. Keys xl knows but xenemu does not emulate are warnings ("KEY: warning: ..."), which do not fail the check. The exit status is 1 if any file has an error, 0 otherwise. --json prints one object per file ({file, ok, errors, warnings}) as a JSON array on standard output instead.`;

  static override examples = [
    '<%= config.bin %> config check configs/web.yaml configs/db.yaml',
    '<%= config.bin %> config check /etc/xen/*.cfg || echo "some configs need fixing"',
    '<%= config.bin %> config check --json configs/legacy.cfg',
  ];

  static override strict = false;

  static override args = {
    file: Args.string({ required: true, description: 'domain config files: YAML or xl.cfg (one or more)' }),
  };

  static override flags = {
    json: Flags.boolean({ description: 'print the issues of every file as a JSON array on standard output' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ConfigCheck);
    const reports = (argv as string[]).map(checkFile);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
    } else {
      const c = chalkFor('stderr');
      for (const r of reports) {
        for (const w of r.warnings) this.logToStderr(formatIssue({ ...w, message: `${c.yellow('warning:')} ${w.message}` }));
        for (const e of r.errors) this.logToStderr(c.red(formatIssue(e)));
      }
    }
    if (reports.some((r) => !r.ok)) this.exit(1);
  }
}
