import { Args, Flags } from '@oclif/core';
import { type XlVcpuPinResult } from '../src/compat/xl-commands.js';
import { XlCommand } from '../src/compat/xl-command.js';

export default class VcpuPin extends XlCommand {
  static override summary = 'Set which host CPUs a vCPU may run on, like xl vcpu-pin';
  static override description = `Sets the hard affinity (and, if given, the soft affinity) of one vCPU, or of every vCPU with "all". A CPU list is xl's: "all", N, N-M, comma-separated, and ^N to take CPUs out again ("0-3,^1"); "-" leaves that affinity as it is. --dry-run prints the maps as \`xl -N vcpu-pin\` does and changes nothing.`;
  static override examples = [
    '<%= config.bin %> vcpu-pin web 0 2',
    '<%= config.bin %> vcpu-pin web all 0-1',
    '<%= config.bin %> vcpu-pin db 1 - 2,3   # soft affinity only',
    '<%= config.bin %> vcpu-pin --dry-run db 0 0-3,^1',
  ];

  static override args = {
    domain: Args.string({ required: true, description: 'domain name or id' }),
    vcpu: Args.string({ required: true, description: 'vCPU number, or all' }),
    hard: Args.string({ required: true, description: 'hard affinity: a CPU list, all, or - to keep it' }),
    soft: Args.string({ required: false, description: 'soft affinity: a CPU list, all, or - to keep it' }),
  };

  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'as xl: set the affinity even where libxl would refuse (not with all)' }),
    'ignore-global-affinity-masks': Flags.boolean({ char: 'i', description: 'accepted as in xl (xenemu has no global masks)' }),
    'dry-run': Flags.boolean({ char: 'N', description: 'print the resulting maps, change nothing' }),
  };

  async run(): Promise<XlVcpuPinResult> {
    return this.runVerb('vcpu-pin', await this.parse(VcpuPin));
  }
}
