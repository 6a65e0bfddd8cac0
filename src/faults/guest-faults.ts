import type { Clock, Timer } from '../hypervisor/clock.js';
import type { ActiveFault, FaultRegistry } from './registry.js';

/** What a guest fault acts on: the kernel running in a domain. */
export interface FaultableKernel {
  panic(message: string): void;
}

/**
 * The guest fault kinds: guest-unresponsive (its control driver takes no shutdown
 * request, so nobody acknowledges one) and guest-crash (its kernel panics, now or
 * after --delay, and the toolstack runs on_crash).
 */
export class GuestFaults {
  private readonly crashTimers = new Map<ActiveFault, Timer>();

  constructor(
    private readonly registry: FaultRegistry,
    clock: Clock,
    kernel: (domid: number) => FaultableKernel | undefined,
  ) {
    registry.handle('guest-crash', {
      added: (fault) => {
        const crash = (): void => {
          this.crashTimers.delete(fault);
          const k = kernel(fault.domid!);
          registry.fired(fault, k ? `domain ${fault.domid} crashes` : `domain ${fault.domid} has no running kernel to crash`);
          k?.panic(`xenemu fault ${fault.id}: guest-crash`);
        };
        // After the add is answered, so `fault add` reports the fault before its effect.
        this.crashTimers.set(fault, clock.after((fault.spec.options.delayMs ?? 0) * 1e6, crash));
      },
      removed: (fault) => {
        this.crashTimers.get(fault)?.cancel();
        this.crashTimers.delete(fault);
      },
    });
  }

  /** Whether a guest-unresponsive fault is in force at all. */
  get armed(): boolean {
    return this.registry.has('guest-unresponsive');
  }

  /** Whether domain `domid`'s control driver ignores this shutdown request (counted when it does). */
  ignoresShutdown(domid: number, command: string): boolean {
    return this.registry.fire('guest-unresponsive', (f) => f.domid === domid, () => `domain ${domid} ignores control/shutdown "${command}"`) !== null;
  }
}
