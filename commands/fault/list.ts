import { XenemuCommand } from '../../src/cli/base-command.js';
import { faultCall } from '../../src/client/faults.js';
import { formatFaultList } from '../../src/ui/faults.js';
import type { JsonOutput } from '../../src/ui/json/schemas.js';

export default class FaultList extends XenemuCommand {
  static override summary = 'List the faults in force, with how many times each fired';
  static override description = 'One line per fault: its id, kind, target, probability, count, how many times it fired, the time it has left, its seed and its options. Ended faults are gone from the list; their story is in `xenemu dmesg`.';
  static override examples = ['<%= config.bin %> fault list', '<%= config.bin %> fault list --json'];
  static override enableJsonFlag = true;

  async run(): Promise<JsonOutput<'fault:list'>> {
    await this.parse(FaultList);
    const r = await faultCall(this.paths, 'fault.list', {});
    if (!this.jsonEnabled()) this.log(r.faults.length === 0 ? 'no faults' : formatFaultList(r.faults));
    return r;
  }
}
