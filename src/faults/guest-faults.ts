import type { Clock, Timer } from '../hypervisor/clock.js';
import type { ActiveFault, FaultRegistry } from './registry.js';

/** What a guest fault acts on: the kernel running in a domain. */
export interface FaultableKernel {
  panic(message: string): void;
  /** Its XenStore connection, through its own ring, as the domain. */
  readonly xs: { write(path: string, value: string): Promise<void> } | null;
}

/** What a guest fault needs of the machine. */
export interface GuestFaultHost {
  kernel(domid: number): FaultableKernel | undefined;
  /** Stop (or resume) delivering upcalls to a vCPU: its events stay pending meanwhile. */
  hangVcpu(domid: number, vcpu: number, hung: boolean): void;
}

/** How often guest-leak writes a node when the fault does not say. */
const LEAK_INTERVAL_MS = 1000;

/**
 * The guest fault kinds: guest-unresponsive (its control driver takes no shutdown
 * request, so nobody acknowledges one), guest-crash (its kernel panics, now or after
 * --delay, and the toolstack runs on_crash), guest-slow-boot, guest-leak (XenStore
 * nodes written and never removed) and vcpu-hang.
 */
export class GuestFaults {
  private readonly crashTimers = new Map<ActiveFault, Timer>();
  private readonly leakTimers = new Map<ActiveFault, Timer>();

  constructor(
    private readonly registry: FaultRegistry,
    private readonly clock: Clock,
    host: GuestFaultHost,
  ) {
    const kernel = (domid: number): FaultableKernel | undefined => host.kernel(domid);
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
    registry.handle('guest-leak', {
      added: (fault) => this.leak(fault, kernel, 0),
      removed: (fault) => {
        this.leakTimers.get(fault)?.cancel();
        this.leakTimers.delete(fault);
      },
    });
    registry.handle('vcpu-hang', {
      added: (fault) => {
        host.hangVcpu(fault.domid!, fault.spec.options.vcpu ?? 0, true);
        registry.fired(fault, `vCPU ${fault.spec.options.vcpu ?? 0} of domain ${fault.domid} stops taking interrupts`);
      },
      removed: (fault) => host.hangVcpu(fault.domid!, fault.spec.options.vcpu ?? 0, false),
    });
  }

  /** One leaked node every interval, through the guest's own ring (so its quota applies). */
  private leak(fault: ActiveFault, kernel: (domid: number) => FaultableKernel | undefined, refused: number): void {
    const interval = fault.spec.options.intervalMs ?? LEAK_INTERVAL_MS;
    this.leakTimers.set(
      fault,
      this.clock.after(interval * 1e6, () => {
        const xs = kernel(fault.domid!)?.xs;
        if (xs == null) return this.leak(fault, kernel, refused);
        const node = `data/xenemu-leak-${fault.id}-${fault.fired}`;
        xs.write(node, 'leaked').then(
          () => {
            if (!this.leakTimers.has(fault)) return;
            this.registry.fired(fault, `domain ${fault.domid} leaked ${node}`);
            if (this.leakTimers.has(fault)) this.leak(fault, kernel, 0);
          },
          (err: { errno?: string; message?: string }) => {
            if (!this.leakTimers.has(fault)) return;
            // Said once per run of refusals (the quota is full), not once a second.
            if (refused === 0) this.registry.note(fault, `domain ${fault.domid} cannot leak more: ${err.errno ?? err.message}`);
            this.leak(fault, kernel, refused + 1);
          },
        );
      }),
    );
  }

  /** How long domain `domid`'s kernel waits before it boots (guest-slow-boot), 0 when it does not. */
  bootDelayMs(domid: number): number {
    if (!this.registry.has('guest-slow-boot')) return 0;
    const fault = this.registry.fire('guest-slow-boot', (f) => f.domid === domid, (f) => `domain ${domid} boots ${f.spec.options.delayMs} ms late`);
    return fault?.spec.options.delayMs ?? 0;
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
