import { Args, Flags } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';
import type { CpupoolInfo } from '../src/toolstack/sched.js';

export default class CpupoolList extends XlCommand {
  static override summary = 'List the CPU pools, like xl cpupool-list';
  static override description = "xenemu's host has one pool, Pool-0: every host CPU, the scheduler Xen runs (credit2 unless host.yaml says sched: credit), and every domain. -c lists the pool's CPUs instead. A pool is named by its name, as xl takes it.";
  static override examples = ['<%= config.bin %> cpupool-list', '<%= config.bin %> cpupool-list -c Pool-0'];

  static override args = { pool: Args.string({ required: false, description: 'only this pool' }) };
  static override flags = { cpus: Flags.boolean({ char: 'c', description: "list each pool's CPUs" }) };

  async run(): Promise<CpupoolInfo[]> {
    return this.runVerb('cpupool-list', await this.parse(CpupoolList));
  }
}
