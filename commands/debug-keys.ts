import { Args } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class DebugKeys extends XlCommand {
  static override summary = "Press Xen's debug keys, like xl debug-keys; their output is in xenemu dmesg";
  static override description = `XEN_SYSCTL_debug_keys: each key of KEYS in turn runs its handler, which prints to the hypervisor's console (\`xenemu dmesg\`, "(XEN) ..." lines in Xen 4.17's formats). Installed here: e (every domain's event channels: port, pending/masked/selector bits, state, vCPU, peer domain and port or VIRQ), g (every domain's grant table: frames, and each grant in use with its user, frame and pin counts), q (each domain's state and vCPUs; sends VIRQ_DEBUG to every vCPU, so guests log their own state in \`xenemu dmesg DOMAIN\`), t (clock skew between CPUs: 0, one clock here), * (all of e, g, q, t), h (this list). A key Xen has no handler for is ignored, as Xen ignores it.`;
  static override examples = ['<%= config.bin %> debug-keys e; <%= config.bin %> dmesg | tail', '<%= config.bin %> debug-keys g', '<%= config.bin %> debug-keys h'];

  static override args = {
    keys: Args.string({ required: true, description: 'the debug keys, pressed in order: e g q t * h' }),
  };

  async run(): Promise<{ keys: string }> {
    return this.runVerb('debug-keys', await this.parse(DebugKeys));
  }
}
