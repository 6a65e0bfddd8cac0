import { IntrError } from './errors.js';
import type { XenIpisState } from './saved.js';
import type { XenIntr, XenIntrSource } from './xen-intr.js';

/**
 * The IPIs a FreeBSD guest binds on every vCPU when events are per-vCPU
 * (sys/x86/xen/xen_apic.c xen_ipis[]), each an EVTCHNOP_bind_ipi port named
 * `cpuN:<description>`, handled in a filter.
 */
export const XEN_IPIS = [
  { what: 'r', purpose: 'smp_rendezvous' },
  { what: 'itlb', purpose: 'TLB shootdown' },
  { what: 'ipg', purpose: 'page invalidation' },
  { what: 'irg', purpose: 'range invalidation' },
  { what: 'ic', purpose: 'cache invalidation' },
  { what: 'b', purpose: 'bitmap IPIs: AST, preempt, hardclock' },
  { what: 'st', purpose: 'stop' },
  { what: 'sp', purpose: 'suspend' },
  { what: 'sth', purpose: 'hard stop' },
] as const;

export type IpiKind = (typeof XEN_IPIS)[number]['what'];

/** Who an IPI goes to (FreeBSD's APIC_IPI_DEST_SELF / ALL / OTHERS, or one vCPU). */
export type IpiDest = 'self' | 'all' | 'others' | number;

/**
 * PV IPIs: xen_cpu_ipi_init binds them per vCPU, xen_pv_lapic_ipi_vectored sends them
 * with EVTCHNOP_send. With the INTx callback FreeBSD does not use them (xen_setup_cpus
 * returns early) and IPIs go through the emulated local APIC instead; send() then
 * returns false.
 */
export class XenIpis {
  private readonly ports: Array<Map<IpiKind, XenIntrSource> | undefined> = [];
  /** IPIs handled, by kind (what the handlers did). */
  readonly handled = new Map<IpiKind, number>();

  constructor(private readonly intr: XenIntr) {}

  get enabled(): boolean {
    return this.intr.percpuEvtchn;
  }

  /** Bind the IPIs of one vCPU (once). */
  initCpu(cpu: number): void {
    if (!this.enabled || this.ports[cpu] !== undefined) return;
    const m = new Map<IpiKind, XenIntrSource>();
    this.ports[cpu] = m;
    for (const { what } of XEN_IPIS) m.set(what, this.intr.allocAndBindIpi(cpu, what, this.filter(what)));
  }

  /** The handler of one kind of IPI: it counts what it was asked to do. */
  private filter(what: IpiKind): () => 'handled' {
    return () => {
      this.handled.set(what, (this.handled.get(what) ?? 0) + 1);
      return 'handled';
    };
  }

  save(): XenIpisState {
    const cpus: XenIpisState['cpus'] = [];
    this.ports.forEach((m, cpu) => {
      if (m !== undefined) cpus.push({ cpu, irqs: [...m].map(([kind, src]) => [kind, src.irq]) });
    });
    return { cpus, handled: [...this.handled] };
  }

  /** Take a save into fresh IPIs over the loaded interrupt layer: each IPI source gets its filter back. */
  load(s: XenIpisState): void {
    if (this.ports.length > 0) throw new IntrError('EBUSY', 'saved IPIs load only into fresh ones');
    for (const { cpu, irqs } of s.cpus) {
      const m = new Map<IpiKind, XenIntrSource>();
      for (const [kind, irq] of irqs) m.set(kind, this.intr.restoreHandlers(irq, { filter: this.filter(kind) }));
      this.ports[cpu] = m;
    }
    for (const [kind, n] of s.handled) this.handled.set(kind, n);
  }

  /** Send an IPI from `from` (xen_pv_lapic_ipi_vectored). Returns false without PV IPIs. */
  send(kind: IpiKind, dest: IpiDest, from = 0): boolean {
    if (!this.enabled) return false;
    const targets: number[] = [];
    if (dest === 'self') targets.push(from);
    else if (typeof dest === 'number') targets.push(dest);
    else {
      for (let cpu = 0; cpu < this.ports.length; cpu++) {
        if (this.ports[cpu] === undefined) continue;
        if (dest === 'others' && cpu === from) continue;
        targets.push(cpu);
      }
    }
    for (const cpu of targets) {
      const src = this.ports[cpu]?.get(kind);
      if (src !== undefined) this.intr.signal(src);
    }
    return true;
  }
}
