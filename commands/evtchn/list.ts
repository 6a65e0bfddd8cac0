import { Args, Flags } from '@oclif/core';
import { XenemuCommand } from '../../src/cli/base-command.js';
import { evtchnCall } from '../../src/client/evtchn.js';
import { formatLsevtchn } from '../../src/ui/interrupts.js';
import type { JsonOutput } from '../../src/ui/json/schemas.js';
import { evtchnListJson } from '../../src/ui/json/views.js';

export default class EvtchnList extends XenemuCommand {
  static override summary = "List a domain's event channels, like lsevtchn";
  static override description = `Prints one line per port in use, exactly as Xen's lsevtchn does ("   5: VCPU 0: Interdomain (Connected) - Remote Domain 0, Port 12"): the port, the vCPU Xen notifies, and what the port is bound to (an unbound port waiting for a domain, a connected interdomain port and its peer, a VIRQ, an IPI). Like lsevtchn, DOM defaults to 0.

With -l each line also shows the port's mask and pending bits in shared_info and the guest kernel's interrupt source on it (its vmstat -i name, handler kind and count). --json gives all of it.`;
  static override examples = ['<%= config.bin %> evtchn list', '<%= config.bin %> evtchn list web -l', '<%= config.bin %> evtchn list 3 --json'];
  static override enableJsonFlag = true;
  static override args = { dom: Args.string({ description: 'domain id or name', default: '0' }) };
  static override flags = { long: Flags.boolean({ char: 'l', description: 'add the mask and pending bits and the interrupt source' }) };

  async run(): Promise<JsonOutput<'evtchn:list'>> {
    const { args, flags } = await this.parse(EvtchnList);
    const r = await evtchnCall(this.paths, 'evtchn.list', { ref: args.dom });
    if (!this.jsonEnabled() && r.ports.length > 0) this.log(formatLsevtchn(r.ports, { long: flags.long }));
    return evtchnListJson(r);
  }
}
