import { Args } from '@oclif/core';
import { XenemuCommand } from '../../src/cli/base-command.js';
import { evtchnCall } from '../../src/client/evtchn.js';
import { formatEvtchnStatus } from '../../src/ui/interrupts.js';
import type { JsonOutput } from '../../src/ui/json/schemas.js';
import { evtchnStatusJson } from '../../src/ui/json/views.js';

export default class EvtchnStatus extends XenemuCommand {
  static override summary = 'Show one event channel port (EVTCHNOP_status)';
  static override description = `Shows what Xen reports for the port (closed, unbound and for whom, connected and to which peer port, a VIRQ, an IPI), the vCPU it notifies, its mask and pending bits, and the guest's interrupt source on it. A port beyond the domain's port table is an error (EINVAL), as it is for Xen.`;
  static override examples = ['<%= config.bin %> evtchn status web 5', '<%= config.bin %> evtchn status 0 12 --json'];
  static override enableJsonFlag = true;
  static override args = {
    dom: Args.string({ required: true, description: 'domain id or name' }),
    port: Args.integer({ required: true, min: 0, description: 'port number' }),
  };

  async run(): Promise<JsonOutput<'evtchn:status'>> {
    const { args } = await this.parse(EvtchnStatus);
    const r = await evtchnCall(this.paths, 'evtchn.status', { ref: args.dom, port: args.port });
    this.log(formatEvtchnStatus(r.domid, r.name, r.row));
    return evtchnStatusJson(r);
  }
}
