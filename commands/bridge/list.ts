import { XenemuCommand } from '../../src/cli/base-command.js';
import { netCall } from '../../src/client/net.js';
import type { JsonOutput } from '../../src/ui/json/schemas.js';
import { formatBridgeList } from '../../src/ui/net.js';

export default class BridgeList extends XenemuCommand {
  static override summary = 'Show the bridges, the vifs on them and what each has learned';
  static override description = `Each bridge of the emulated host as brctl show prints it (name, id, STP, interfaces), then, for a bridge with ports, its forwarding table as brctl showmacs does: the MAC addresses it has learned, on which port, and how long since each was last seen (a MAC not seen for the ageing time, 300 s, is forgotten).

Vifs naming the same bridge= exchange frames through it; xenbr0 exists on every host, as libxl gives a vif with no bridge= that one. Each bridge captures what enters it in $XENEMU_HOME/captures/bridge-<name>.pcap.`;
  static override examples = ['<%= config.bin %> bridge list', '<%= config.bin %> bridge list --json'];
  static override enableJsonFlag = true;

  async run(): Promise<JsonOutput<'bridge:list'>> {
    await this.parse(BridgeList);
    const r = await netCall(this.paths, 'net.bridges', {});
    this.log(formatBridgeList(r));
    return r;
  }
}
