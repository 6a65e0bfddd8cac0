import { Args } from '@oclif/core';
import { XenemuCommand } from '../../src/cli/base-command.js';
import { evtchnCall } from '../../src/client/evtchn.js';
import type { EvtchnRpc } from '../../src/protocol/evtchn-rpc.js';

export default class EvtchnClose extends XenemuCommand {
  static override summary = 'Unbind and close a port DOM bound with alloc-unbound or bind-interdomain';
  static override description = `xenevtchn_unbind: the port leaves DOM's event channel device and is closed (EVTCHNOP_close). The other end of a connected channel becomes unbound again, open to DOM, as Xen leaves it. Ports the device did not bind are refused with ENOTCONN.`;
  static override examples = ['<%= config.bin %> evtchn close web 7'];
  static override enableJsonFlag = true;
  static override args = {
    dom: Args.string({ required: true, description: 'domain id or name' }),
    port: Args.integer({ required: true, min: 0, description: 'its port' }),
  };

  async run(): Promise<EvtchnRpc['evtchn.close']['result']> {
    const { args } = await this.parse(EvtchnClose);
    return evtchnCall(this.paths, 'evtchn.close', { ref: args.dom, port: args.port });
  }
}
