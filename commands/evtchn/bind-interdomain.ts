import { Args } from '@oclif/core';
import { XenemuCommand } from '../../src/cli/base-command.js';
import { evtchnCall } from '../../src/client/evtchn.js';
import type { EvtchnRpc } from '../../src/protocol/evtchn-rpc.js';

export default class EvtchnBindInterdomain extends XenemuCommand {
  static override summary = "Connect a new port in DOM to REMOTE's unbound port, and print it";
  static override description = `Acts as a program in DOM using its /dev/xen/evtchn (xenevtchn_bind_interdomain): EVTCHNOP_bind_interdomain connects a new local port to REMOTE_PORT, which REMOTE must have opened for DOM (alloc-unbound). Xen refuses a port that is not unbound or was offered to another domain with EINVAL, and a domain that does not exist with ESRCH. The local port number is printed.`;
  static override examples = ['<%= config.bin %> evtchn bind-interdomain db web 7', '<%= config.bin %> evtchn bind-interdomain 2 1 7 --json'];
  static override enableJsonFlag = true;
  static override args = {
    dom: Args.string({ required: true, description: 'domain that connects (id or name)' }),
    remote: Args.string({ required: true, description: 'domain that opened the port (id or name)' }),
    remotePort: Args.integer({ required: true, min: 0, description: "the remote domain's unbound port" }),
  };

  async run(): Promise<EvtchnRpc['evtchn.bindInterdomain']['result']> {
    const { args } = await this.parse(EvtchnBindInterdomain);
    const r = await evtchnCall(this.paths, 'evtchn.bindInterdomain', { ref: args.dom, remote: args.remote, remotePort: args.remotePort });
    this.log(String(r.port));
    return r;
  }
}
