import type { Clock } from '../hypervisor/clock.js';

/** Lines the kernel keeps (like the printk ring buffer); older ones are dropped. */
const LOG_LINES = 2000;

/**
 * The kernel's log (what `dmesg` prints): lines stamped with the time since boot in
 * Linux's "[    1.234567] " form. Each line also goes to `echo`, the console.
 */
export class KernelLog {
  readonly lines: string[] = [];
  private readonly bootNs: number;

  constructor(
    private readonly clock: Clock,
    private readonly echo: (line: string) => void = () => {},
  ) {
    this.bootNs = clock.now();
  }

  print(message: string): void {
    const us = Math.max(0, Math.floor((this.clock.now() - this.bootNs) / 1000));
    const line = `[${String(Math.floor(us / 1e6)).padStart(5)}.${String(us % 1e6).padStart(6, '0')}] ${message}`;
    this.lines.push(line);
    if (this.lines.length > LOG_LINES) this.lines.splice(0, this.lines.length - LOG_LINES);
    this.echo(line);
  }
}
