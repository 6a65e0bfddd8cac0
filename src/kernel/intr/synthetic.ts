import { DOMID } from '../../abi/index.js';
import type { Hypercalls } from '../../hypervisor/hypercalls.js';
import type { KernelLog } from '../kernel-log.js';
import { IntrError } from './errors.js';
import type { SyntheticSourcesState } from './saved.js';
import type { IntrHandlers, XenIntr, XenIntrSource } from './xen-intr.js';

/** A synthetic event source, as xenemu.events in the domain config describes it. */
export interface SyntheticEventSpec {
  name: string;
  /** Events per second. */
  rate: number;
  handler: 'filter' | 'ithread' | 'both';
  /** vCPU to bind it to (default: the layer's round robin). */
  vcpu?: number | undefined;
}

export interface SyntheticSource {
  spec: SyntheticEventSpec;
  src: XenIntrSource;
  /** Events the handlers processed (the filter, or the thread for ithread-only sources). */
  processed: number;
  /** Events the filter took that the thread has not processed yet. */
  pendingForThread: number;
}

/**
 * Event sources for guests to count until the block and network drivers bring real
 * ones: each is an ordinary event channel port of the guest (alloc_unbound for itself,
 * bound by a driver instance named after the source, spread round robin like any
 * device port), raised by a xenemu emulated device at the configured rate. Its
 * handlers are a filter that finishes the work, an interrupt thread, or a filter that
 * takes the event and hands the rest to the thread; they process however many events
 * the device posted since the last interrupt, as a driver drains its ring.
 */
export class SyntheticSources {
  readonly sources: SyntheticSource[] = [];

  constructor(
    private readonly intr: XenIntr,
    private readonly hc: Hypercalls,
    private readonly log: KernelLog,
  ) {}

  /** The driver's handlers for one source, and what its interrupt stands for (asked once its source is bound). */
  private handlers(entry: SyntheticSource): { handlers: IntrHandlers; eventsOf: () => number } {
    const { spec } = entry;
    const handlers: IntrHandlers = {};
    const thread = (): void => {
      entry.processed += entry.pendingForThread;
      entry.pendingForThread = 0;
    };
    if (spec.handler === 'filter') handlers.filter = () => 'handled';
    else if (spec.handler === 'both') {
      handlers.filter = () => 'schedule-thread';
      handlers.ithread = thread;
    } else handlers.ithread = thread;
    // What the device posted since the last notification is what this interrupt stands for.
    const eventsOf = (): number => {
      const n = this.hc.platform.eventSourceTake(entry.src.port);
      if (spec.handler === 'filter') entry.processed += n;
      else entry.pendingForThread += n;
      return n;
    };
    return { handlers, eventsOf };
  }

  attach(spec: SyntheticEventSpec): SyntheticSource {
    const entry = { spec, src: null as unknown as XenIntrSource, processed: 0, pendingForThread: 0 };
    const { handlers, eventsOf } = this.handlers(entry);
    const want = spec.vcpu;
    const percpu = this.intr.percpuEvtchn;
    const src = this.intr.allocAndBindLocalPort(spec.name, DOMID.SELF, handlers, percpu && want !== undefined && this.hc.vcpuOnline(want) ? want : null);
    entry.src = src;
    src.eventsOf = eventsOf;
    this.hc.platform.attachEventSource(src.port, spec.rate);
    if (want !== undefined && src.cpu !== want) {
      this.log.print(`${spec.name}: wanted vCPU ${want}, ${percpu ? `which is offline;` : 'but events all arrive on vCPU 0 with the INTx callback;'} bound to vCPU ${src.cpu}`);
    }
    this.log.print(`${spec.name}: synthetic event source at ${spec.rate}/s on port ${src.port} (irq${src.irq}, vCPU ${src.cpu}, ${spec.handler})`);
    this.sources.push(entry);
    return entry;
  }

  save(): SyntheticSourcesState {
    return { sources: this.sources.map(({ spec, src, processed, pendingForThread }) => ({ spec: { ...spec }, irq: src.irq, processed, pendingForThread })) };
  }

  /**
   * Take a save into fresh sources over the loaded interrupt layer: each gets its
   * handlers back. The emulated devices that raise the ports are the hypervisor's.
   */
  load(s: SyntheticSourcesState): void {
    if (this.sources.length > 0) throw new IntrError('EBUSY', 'saved synthetic sources load only into fresh ones');
    for (const saved of s.sources) {
      const entry = { spec: { ...saved.spec }, src: null as unknown as XenIntrSource, processed: saved.processed, pendingForThread: saved.pendingForThread };
      const { handlers, eventsOf } = this.handlers(entry);
      entry.src = this.intr.restoreHandlers(saved.irq, handlers, eventsOf);
      this.sources.push(entry);
    }
  }

  detachAll(): void {
    for (const s of this.sources) this.hc.platform.detachEventSource(s.src.port);
  }
}
