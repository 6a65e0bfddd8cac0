import { Args } from '@oclif/core';
import { XenemuCommand } from '../../src/cli/base-command.js';
import { xenbusList } from '../../src/client/xenbus.js';
import type { JsonOutput } from '../../src/ui/json/schemas.js';
import { formatXenbusList } from '../../src/ui/xenbus.js';

export default class XenbusList extends XenemuCommand {
  static override summary = "List a domain's XenBus devices and their state";
  static override description = `One line per XenBus device of the domain's kernel: the frontends on its front bus (device/...), the backends it serves on its back bus (backend/...), and the children of xenstore (control, memory). For each, what FreeBSD shows as sysctl variables of the device (dev.xbd.0.xenstore_path, xenbus_dev_type, xenbus_connection_state, xenbus_peer_domid, xenstore_peer_path): its node, its type, its state, the other end's domain, path and state, and the driver that attached it ("-" when no driver took it).

States are XenbusState numbers with their names (1 Initialising, 2 InitWait, 3 Initialised, 4 Connected, 5 Closing, 6 Closed). --json gives the same rows, with the absolute XenStore path of each node.`;
  static override examples = ['<%= config.bin %> xenbus list 0', '<%= config.bin %> xenbus list web', '<%= config.bin %> xenbus list web --json'];
  static override enableJsonFlag = true;
  static override args = { dom: Args.string({ description: 'domain id or name', required: true }) };

  async run(): Promise<JsonOutput<'xenbus:list'>> {
    const { args } = await this.parse(XenbusList);
    const r = await xenbusList(this.paths, args.dom);
    if (!this.jsonEnabled()) this.log(formatXenbusList(r.devices));
    return r;
  }
}
