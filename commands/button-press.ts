import { Args } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class ButtonPress extends XlCommand {
  static override summary = 'Press a domain\'s ACPI power or sleep button, like xl button-press (deprecated: use trigger)';
  static override description = `xl's deprecated spelling of "trigger DOMAIN power" and "trigger DOMAIN sleep": it warns that it is deprecated, takes only "power" or "sleep" (anything else is "BUTTON is an invalid button identifier", exit 1), and sends the trigger on vCPU 0 as trigger does: an HVM guest powers off at "power"; a PV guest has no ACPI buttons and refuses. xl exits 0 even when the trigger fails; xenemu exits 1, as its trigger does.`;
  static override examples = ['<%= config.bin %> button-press hvm1 power'];

  static override args = {
    domain: Args.string({ required: true, description: 'domain name or id' }),
    button: Args.string({ required: true, description: 'power or sleep' }),
  };

  async run(): Promise<{ domid: number; trigger: string; vcpu: number }> {
    return this.runVerb('button-press', await this.parse(ButtonPress));
  }
}
