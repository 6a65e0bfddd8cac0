import { Flags } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class SchedCredit extends XlCommand {
  static override summary = 'Get or set credit scheduler parameters, like xl sched-credit';
  static override description = `As sched-credit2, for a host whose Xen runs the credit scheduler (host.yaml: sched: credit). Without options: each cpupool run by credit, its time slice, rate limit and migration delay, and each of its domains' weight and cap. -d DOMAIN shows one domain, with -w and/or -c sets them. -s shows the pool's parameters; -s with -t, -r and/or -m sets them (time slice 1-1000 ms, rate limit 0 or 100-500000 us and at most the time slice, migration delay up to 100000 us).

On the default credit2 host this command fails as xl does there: it lists no pool, and -s finds the parameters unavailable.`;
  static override examples = ['<%= config.bin %> sched-credit', '<%= config.bin %> sched-credit -d web -w 128', '<%= config.bin %> sched-credit -s -t 10 -r 500'];

  static override flags = {
    domain: Flags.string({ char: 'd', description: 'domain to show or change' }),
    weight: Flags.string({ char: 'w', description: 'weight (1-65535; -1 leaves it)' }),
    cap: Flags.string({ char: 'c', description: 'cap in percent of one CPU (0: none; -1 leaves it)' }),
    schedparam: Flags.boolean({ char: 's', description: "show or set the pool's parameters" }),
    tslice_ms: Flags.string({ char: 't', description: 'with -s: the time slice in milliseconds' }),
    ratelimit_us: Flags.string({ char: 'r', description: 'with -s: the rate limit in microseconds (0: off)' }),
    migration_delay_us: Flags.string({ char: 'm', description: 'with -s: the vCPU migration delay in microseconds' }),
    cpupool: Flags.string({ char: 'p', description: 'only this cpupool (name or id)' }),
  };

  async run(): Promise<unknown> {
    return this.runVerb('sched-credit', await this.parse(SchedCredit));
  }
}
