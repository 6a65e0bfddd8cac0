import type { Clock } from '../hypervisor/clock.js';
import type { KernelLogState } from './saved.js';

/** Lines the kernel keeps (like the printk ring buffer); older ones are dropped. */
const LOG_LINES = 2000;

/**
 * The kernel's log (what `dmesg` prints): lines stamped with the time since boot in
 * Linux's "[    1.234567] " form. Each line also goes to `echo`, the console.
 */
export class KernelLog {
  readonly lines: string[] = [];
  private bootNs: number;

  constructor(
    private readonly clock: Clock,
    private readonly echo: (line: string) => void = () => {},
  ) {
    this.bootNs = clock.now();
  }

  save(): KernelLogState {
    return { bootNs: this.bootNs, lines: [...this.lines] };
  }

  /** Take a save in place of this log: its lines, and its boot time, so stamps go on from it. */
  load(s: KernelLogState): void {
    this.bootNs = s.bootNs;
    this.lines.splice(0, this.lines.length, ...s.lines.slice(-LOG_LINES));
  }

  /** dmesg -c: forget the lines printed so far (the stamps' clock goes on). */
  clear(): void {
    this.lines.length = 0;
  }

  /** Nanoseconds since boot (what the stamps count). */
  sinceBootNs(): number {
    return Math.max(0, this.clock.now() - this.bootNs);
  }

  print(message: string): void {
    const us = Math.floor(this.sinceBootNs() / 1000);
    const line = `[${String(Math.floor(us / 1e6)).padStart(5)}.${String(us % 1e6).padStart(6, '0')}] ${message}`;
    this.lines.push(line);
    if (this.lines.length > LOG_LINES) this.lines.splice(0, this.lines.length - LOG_LINES);
    this.echo(line);
  }
}
