import { XlCommand } from '../src/compat/xl-command.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';

export default class VmList extends XlCommand {
  static override summary = 'List the domains by UUID, id and name, like xl vm-list';
  static override description = `xl's table: each domain's UUID, id and name. Domain-0 is listed, as xl 4.17 lists it (its help says "excluding dom0", but libxl_list_vm() has skipped only stub domains since Xen 4.7).`;
  static override examples = ['<%= config.bin %> vm-list', '<%= config.bin %> vm-list --json'];
  static override enableJsonFlag = true;

  async run(): Promise<JsonOutput<'vm-list'>> {
    return this.runVerb('vm-list', await this.parse(VmList));
  }
}
