import { Args, Flags } from '@oclif/core';
import { XenemuCommand } from '../src/cli/base-command.js';
import { evtchnCall } from '../src/client/evtchn.js';
import { formatHostInterrupts, formatVmstatI, formatVmstatPerCpu } from '../src/ui/interrupts.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';
import { domainInterruptsJson, hostInterruptsJson } from '../src/ui/json/views.js';

export default class Interrupts extends XenemuCommand {
  static override summary = "Show a guest's interrupt statistics, like FreeBSD's vmstat -i";
  static override description = `For DOM, prints what its kernel counts, in vmstat -i's layout ("interrupt  total  rate"): the Xen upcall counter of each vCPU (cpuN:xen), and every interrupt source bound to an event channel by the FreeBSD name of its driver instance and its interrupt number (irq768: xenstore0, irqN: cpu1:timer, irqN: evtchn0 for ports bound through the event channel device), then the total. The rate is per second of the domain's uptime. Rows with no interrupts are left out unless -a.

-P adds a column per vCPU. -t adds the time spent in filters and interrupt threads (measured) and the modelled guest time (upcall entry, emulated APIC accesses with the INTx callback, unmask hypercalls, interrupt thread switches), in µs.

Without DOM, shows the host's view: one line per domain with its callback, ports, upcalls, interrupts and times.`;
  static override examples = ['<%= config.bin %> interrupts web', '<%= config.bin %> interrupts web -P', '<%= config.bin %> interrupts 3 -t -a', '<%= config.bin %> interrupts', '<%= config.bin %> interrupts web --json'];
  static override enableJsonFlag = true;
  static override args = { dom: Args.string({ description: 'domain id or name (default: every domain, one line each)' }) };
  static override flags = {
    percpu: Flags.boolean({ char: 'P', description: 'one column per vCPU' }),
    all: Flags.boolean({ char: 'a', description: 'also rows that counted nothing' }),
    times: Flags.boolean({ char: 't', description: 'add filter, ithread and modelled times (µs)' }),
  };

  async run(): Promise<JsonOutput<'interrupts'>> {
    const { args, flags } = await this.parse(Interrupts);
    if (args.dom === undefined) {
      const rows = await evtchnCall(this.paths, 'intr.host', {});
      this.log(formatHostInterrupts(rows));
      return hostInterruptsJson(rows);
    }
    const s = await evtchnCall(this.paths, 'intr.stats', { ref: args.dom });
    this.log(flags.percpu ? formatVmstatPerCpu(s, { all: flags.all }) : formatVmstatI(s, { all: flags.all, times: flags.times }));
    return domainInterruptsJson(s);
  }
}
