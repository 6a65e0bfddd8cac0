import { Args } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class Trigger extends XlCommand {
  static override summary = 'Send an NMI or an ACPI button press to a domain, like xl trigger';
  static override description = `XEN_DOMCTL_sendtrigger, as Xen 4.17 on x86 answers it, on vCPU 0 or VCPU:
- nmi: any guest. Its kernel logs Linux's "Uhhuh. NMI received for unknown reason 00 on CPU N." and continues, unless its command line has unknown_nmi_panic (or sysctl.kernel.unknown_nmi_panic=1, sysctl.kernel.panic_on_unrecovered_nmi=1): then it panics and crashes, and on_crash runs.
- power: HVM guests: the ACPI power button; the guest powers off cleanly (on_poweroff runs). PV guests have no ACPI: refused (EINVAL). PVH guests have no emulated PM block: accepted, and nothing happens (as on Xen).
- sleep: HVM guests: the ACPI sleep button, logged and ignored (the guest does not suspend to RAM); PV: EINVAL.
- reset, init: not implemented by Xen on x86 (ENOSYS). s3resume: needs a device model (none here).
xl prints libxl's error and still exits 0 when the trigger fails; xenemu exits 1. An unknown TRIGGER is xl's "Invalid trigger", exit 1.`;
  static override examples = ['<%= config.bin %> trigger web nmi', '<%= config.bin %> trigger hvm1 power', '<%= config.bin %> trigger db nmi 1'];

  static override args = {
    domain: Args.string({ required: true, description: 'domain name or id' }),
    trigger: Args.string({ required: true, description: 'nmi, reset, init, power, sleep or s3resume' }),
    vcpu: Args.string({ required: false, description: 'the vCPU (default 0)' }),
  };

  async run(): Promise<{ domid: number; trigger: string; vcpu: number }> {
    return this.runVerb('trigger', await this.parse(Trigger));
  }
}
