import { Args, Flags } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';
import { listJson } from '../src/ui/json/views.js';

export default class List extends XlCommand {
  static override summary = 'List domains, like xl list';
  static override description = `Prints xl's table, byte for byte: Name, ID, Mem (MiB), VCPUs, State and Time(s), with real tab characters in the header. The six state letters are r(unning), b(locked), p(aused), s(hut down), the shutdown reason (- poweroff, r reboot, s suspend, c crash, w watchdog, S soft reset) and d(ying).

-v adds the UUID, the shutdown reason code and the security label; -l prints each domain's configuration as libxl JSON, as \`xl list -l\` does. A DOMAIN is a name or an id; an unknown one is an error, as in xl. --json gives the rows as data (memKiB, cpuTimeNs; see README's JSON output), with -l libxl's JSON.`;

  static override examples = [
    '<%= config.bin %> list',
    '<%= config.bin %> list web',
    '<%= config.bin %> list -v',
    '<%= config.bin %> list -l db',
    '<%= config.bin %> list --json',
  ];

  static override strict = false;
  static override enableJsonFlag = true;

  static override args = {
    domain: Args.string({ required: false, description: 'a domain name or id; default: all' }),
  };

  static override flags = {
    long: Flags.boolean({ char: 'l', description: 'print every domain\'s configuration as libxl JSON' }),
    verbose: Flags.boolean({ char: 'v', description: 'add the UUID, shutdown reason code and security label' }),
    context: Flags.boolean({ char: 'Z', description: 'add the security label' }),
    cpupool: Flags.boolean({ char: 'c', description: 'add the cpupool' }),
    numa: Flags.boolean({ char: 'n', description: 'add the NUMA node affinity' }),
  };

  async run(): Promise<JsonOutput<'list'>> {
    return listJson(await this.runVerb('list', await this.parse(List)));
  }
}
