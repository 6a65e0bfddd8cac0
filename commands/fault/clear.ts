import { Args, Flags } from '@oclif/core';
import { XenemuCommand } from '../../src/cli/base-command.js';
import { faultCall } from '../../src/client/faults.js';
import { XenemuError } from '../../src/common/errors.js';
import type { JsonOutput } from '../../src/ui/json/schemas.js';

export default class FaultClear extends XenemuCommand {
  static override summary = 'End a fault, or all of them: the host behaves normally again';
  static override description = 'Ends fault ID (see `xenemu fault list`), or every fault with --all. What a fault held ends with it: a lowered quota is restored, delayed replies still go out in order, a pending crash is called off. Clearing a fault that is not there is an error (exit 1).';
  static override examples = ['<%= config.bin %> fault clear 3', '<%= config.bin %> fault clear --all'];
  static override enableJsonFlag = true;
  static override args = { id: Args.integer({ description: 'the fault to end', min: 1 }) };
  static override flags = { all: Flags.boolean({ description: 'end every fault', default: false }) };

  async run(): Promise<JsonOutput<'fault:clear'>> {
    const { args, flags } = await this.parse(FaultClear);
    if ((args.id === undefined) === !flags.all) throw new XenemuError('EINVAL', 'give a fault id or --all, not both');
    const r = await faultCall(this.paths, 'fault.clear', { id: flags.all ? null : args.id! });
    if (!this.jsonEnabled()) this.log(r.cleared.length === 0 ? 'no faults' : `cleared ${r.cleared.map((id) => `#${id}`).join(', ')}`);
    return r;
  }
}
