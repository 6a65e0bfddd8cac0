import { Args } from '@oclif/core';
import { XenemuCommand } from '../../src/cli/base-command.js';
import { evtchnCall } from '../../src/client/evtchn.js';
import type { EvtchnRpc } from '../../src/protocol/evtchn-rpc.js';

export default class EvtchnAllocUnbound extends XenemuCommand {
  static override summary = 'Open a port in DOM that REMOTE may connect to, and print it';
  static override description = `Acts as a program in DOM using its /dev/xen/evtchn (libxenevtchn's xenevtchn_bind_unbound_port): Xen allocates an unbound port for REMOTE (EVTCHNOP_alloc_unbound) and DOM's kernel binds it through its event channel device, where it stays until \`xenemu evtchn close\`. The port number is printed; hand it to REMOTE (usually through XenStore), which connects with \`xenemu evtchn bind-interdomain\`.`;
  static override examples = ['port=$(<%= config.bin %> evtchn alloc-unbound web db)', '<%= config.bin %> evtchn alloc-unbound 1 2 --json'];
  static override enableJsonFlag = true;
  static override args = {
    dom: Args.string({ required: true, description: 'domain that opens the port (id or name)' }),
    remote: Args.string({ required: true, description: 'domain allowed to connect (id or name)' }),
  };

  async run(): Promise<EvtchnRpc['evtchn.allocUnbound']['result']> {
    const { args } = await this.parse(EvtchnAllocUnbound);
    const r = await evtchnCall(this.paths, 'evtchn.allocUnbound', { ref: args.dom, remote: args.remote });
    this.log(String(r.port));
    return r;
  }
}
