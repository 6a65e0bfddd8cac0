import { Flags } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class SchedCredit2 extends XlCommand {
  static override summary = 'Get or set credit2 scheduler parameters, like xl sched-credit2';
  static override description = `Without options: each cpupool run by credit2 (xenemu has one, Pool-0, with every host CPU), its rate limit, and each of its domains' weight and cap. -d DOMAIN shows one domain; with -w and/or -c it sets them instead (weight 1-65535, default 256; cap 0-100 per vCPU, 0 for none), and the domain keeps them across a daemon restart and a reboot. -s shows the pool's rate limit, -s -r sets it (0, or 100-500000 us).

The emulated Xen runs credit2 unless host.yaml says otherwise (sched: credit); on a pool run by another scheduler this command fails as xl does there.`;
  static override examples = [
    '<%= config.bin %> sched-credit2',
    '<%= config.bin %> sched-credit2 -d db -w 512 -c 150',
    '<%= config.bin %> sched-credit2 -s -r 500',
  ];

  static override flags = {
    domain: Flags.string({ char: 'd', description: 'domain to show or change' }),
    weight: Flags.string({ char: 'w', description: 'weight (1-65535; -1 leaves it)' }),
    cap: Flags.string({ char: 'c', description: 'cap in percent of one CPU (0: none; -1 leaves it)' }),
    schedparam: Flags.boolean({ char: 's', description: "show or set the pool's parameters" }),
    ratelimit_us: Flags.string({ char: 'r', description: 'with -s: the rate limit in microseconds (0: off)' }),
    cpupool: Flags.string({ char: 'p', description: 'only this cpupool (name or id)' }),
  };

  async run(): Promise<unknown> {
    return this.runVerb('sched-credit2', await this.parse(SchedCredit2));
  }
}
