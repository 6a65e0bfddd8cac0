/**
 * The hypervisor's console ring (Xen's conring, what `xl dmesg` reads through
 * XEN_SYSCTL_readconsole): the newest lines that fit in a fixed number of bytes, the
 * oldest dropped first, so a host that runs for months and creates thousands of
 * domains holds its log in bounded memory. `-c` clears it (readconsole's clear flag).
 */

/** Bytes kept: Xen's default conring is 16 KiB; more here, as guests' CONSOLEIO_write lines share it. */
export const CONSOLE_RING_BYTES = 128 * 1024;

/** A longer line is cut here (Xen's printk formats into a 1 KiB buffer). */
export const CONSOLE_LINE_MAX = 1024;

export class ConsoleRing {
  private readonly buffer: string[] = [];
  /** Index of the oldest kept line in `buffer`: dropping moves it, and compaction is amortised. */
  private head = 0;
  private bytes = 0;

  constructor(private readonly capacity = CONSOLE_RING_BYTES) {}

  push(line: string): void {
    const kept = line.length > CONSOLE_LINE_MAX ? line.slice(0, CONSOLE_LINE_MAX) : line;
    this.buffer.push(kept);
    this.bytes += kept.length + 1;
    while (this.bytes > this.capacity && this.head < this.buffer.length - 1) {
      this.bytes -= this.buffer[this.head]!.length + 1;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.buffer.length) {
      this.buffer.splice(0, this.head);
      this.head = 0;
    }
  }

  lines(): string[] {
    return this.buffer.slice(this.head);
  }

  clear(): void {
    this.buffer.length = 0;
    this.head = 0;
    this.bytes = 0;
  }
}
