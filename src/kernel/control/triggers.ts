/**
 * How a Linux guest takes what `xl trigger` sends (XEN_DOMCTL_sendtrigger):
 *
 * - An NMI with no reason a device claims is an unknown NMI (arch/x86/kernel/nmi.c,
 *   unknown_nmi_error): "Uhhuh. NMI received for unknown reason 00 on CPU N." and, by
 *   default, "Dazed and confused, but trying to continue". A guest booted with
 *   `unknown_nmi_panic` (or `sysctl.kernel.unknown_nmi_panic=1`,
 *   `sysctl.kernel.panic_on_unrecovered_nmi=1`: the settings that make `xl trigger
 *   nmi` useful for crash dumps) panics instead: "NMI: Not continuing", and the domain
 *   crashes, so its on_crash action runs.
 * - The ACPI power button (HVM): systemd-logind's default HandlePowerKey=poweroff, a
 *   clean power off. The sleep button: HandleSuspendKey=suspend would suspend to RAM,
 *   which this guest does not do (no feature-suspend), so it is logged and ignored.
 */

/** The kernel command line words that make an unknown NMI fatal. */
const NMI_PANIC_WORDS = ['unknown_nmi_panic', 'sysctl.kernel.unknown_nmi_panic=1', 'sysctl.kernel.panic_on_unrecovered_nmi=1'];

export function nmiPanics(cmdline: string): boolean {
  return cmdline.split(/\s+/).some((w) => NMI_PANIC_WORDS.includes(w));
}

export function unknownNmi(vcpu: number, cmdline: string, k: { print(m: string): void; panic(m: string): void }): void {
  k.print(`Uhhuh. NMI received for unknown reason 00 on CPU ${vcpu}.`);
  k.print('Do you have a strange power saving mode enabled?');
  if (nmiPanics(cmdline)) k.panic('NMI: Not continuing');
  else k.print('Dazed and confused, but trying to continue');
}

export function acpiButton(button: 'power' | 'sleep', k: { print(m: string): void; powerOff(): void }): void {
  if (button === 'power') {
    k.print('ACPI: button: Power Button pressed: powering off (HandlePowerKey=poweroff)');
    k.powerOff();
    return;
  }
  k.print('ACPI: button: Sleep Button pressed: ignored (this guest does not suspend to RAM)');
}
