/**
 * XEN_DOMCTL_sendtrigger (xen/arch/x86/domctl.c, what `xl trigger` reaches through
 * libxl_send_trigger): an NMI for any guest, the ACPI power and sleep buttons for HVM
 * guests, and nothing else on x86 (the RESET and INIT triggers are ENOSYS there).
 *
 * What a trigger reaches is what the guest kernel registered: its NMI callback
 * (CALLBACKOP_register with CALLBACKTYPE_nmi for PV, the IDT's NMI vector for HVM)
 * and, for HVM, its ACPI SCI handler, which sees a fixed-event button in the emulated
 * PM1a block. Delivery is deferred on the clock, as Xen sets the vCPU's nmi_pending
 * and kicks it: the domctl returns before the guest runs its handler.
 */

import type { Clock } from './clock.js';
import type { Domain } from './domain.js';
import { HypervisorError } from './hypervisor.js';

/** XEN_DOMCTL_SENDTRIGGER_* by libxl_trigger's names (s3resume is not a domctl: libxl sets an HVM param). */
export type DomainTrigger = 'nmi' | 'reset' | 'init' | 'power' | 'sleep';

export type AcpiButton = 'power' | 'sleep';

/** What a guest kernel registered to take triggers; a missing one is not delivered. */
export interface GuestTriggerHandlers {
  nmi?: (vcpu: number) => void;
  acpiButton?: (button: AcpiButton) => void;
}

interface TriggerState {
  handlers: GuestTriggerHandlers;
  /** v->arch.nmi_pending: set until the guest takes the NMI; a second NMI meanwhile is lost. */
  nmiPending: Set<number>;
}

const states = new WeakMap<Domain, TriggerState>();

function stateOf(d: Domain): TriggerState {
  let s = states.get(d);
  if (s === undefined) {
    s = { handlers: {}, nmiPending: new Set() };
    states.set(d, s);
  }
  return s;
}

/** The guest registers (or, with undefined, drops) its handlers. NMIs pending meanwhile are delivered. */
export function registerTriggerHandlers(d: Domain, handlers: GuestTriggerHandlers, clock: Clock): void {
  const s = stateOf(d);
  s.handlers = { ...s.handlers, ...handlers };
  for (const vcpu of s.nmiPending) deliverNmi(d, s, vcpu, clock);
}

function deliverNmi(d: Domain, s: TriggerState, vcpu: number, clock: Clock): void {
  clock.defer(() => {
    const nmi = s.handlers.nmi;
    if (nmi === undefined || !s.nmiPending.delete(vcpu)) return;
    nmi(vcpu);
  });
}

/** arch_do_domctl(XEN_DOMCTL_sendtrigger): each trigger's errno as Xen 4.17 answers it. */
export function sendTrigger(d: Domain, trigger: DomainTrigger, vcpu: number, clock: Clock): void {
  if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= d.vcpus.length) throw new HypervisorError('ESRCH', `domain ${d.domid} has no vCPU ${vcpu}`);
  const s = stateOf(d);
  switch (trigger) {
    case 'nmi':
      // test_and_set_bool(v->arch.nmi_pending): NMIs do not queue.
      if (s.nmiPending.has(vcpu)) return;
      s.nmiPending.add(vcpu);
      if (s.handlers.nmi !== undefined) deliverNmi(d, s, vcpu, clock);
      return;
    case 'power':
    case 'sleep': {
      if (d.type === 'pv') throw new HypervisorError('EINVAL', `domain ${d.domid} is a PV guest: the ${trigger} button is an ACPI event of HVM guests`);
      // hvm_acpi_power_button() returns at once for a domain without the emulated PM
      // block (!has_vpm: PVH), so the press is accepted and lost.
      if (d.type !== 'hvm') return;
      const button: AcpiButton = trigger;
      clock.defer(() => s.handlers.acpiButton?.(button));
      return;
    }
    case 'reset':
    case 'init':
      throw new HypervisorError('ENOSYS', `Xen on x86 does not implement the ${trigger} trigger (XEN_DOMCTL_sendtrigger)`);
  }
}
