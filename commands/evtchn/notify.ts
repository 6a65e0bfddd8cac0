import { Args } from '@oclif/core';
import { XenemuCommand } from '../../src/cli/base-command.js';
import { evtchnCall } from '../../src/client/evtchn.js';
import type { EvtchnRpc } from '../../src/protocol/evtchn-rpc.js';

export default class EvtchnNotify extends XenemuCommand {
  static override summary = 'Signal the other end of a port DOM bound with alloc-unbound or bind-interdomain';
  static override description = `xenevtchn_notify: EVTCHNOP_send on PORT of DOM. The peer's port fires and its interrupt counter moves (\`xenemu interrupts PEER\`, its evtchn0 line). Only ports bound through the event channel device can be notified; any other port is refused with ENOTCONN, as the device does.`;
  static override examples = ['<%= config.bin %> evtchn notify db 9'];
  static override enableJsonFlag = true;
  static override args = {
    dom: Args.string({ required: true, description: 'domain id or name' }),
    port: Args.integer({ required: true, min: 0, description: 'its port' }),
  };

  async run(): Promise<EvtchnRpc['evtchn.notify']['result']> {
    const { args } = await this.parse(EvtchnNotify);
    return evtchnCall(this.paths, 'evtchn.notify', { ref: args.dom, port: args.port });
  }
}
