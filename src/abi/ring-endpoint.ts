/**
 * One end of a byte-stream ring page (xenstore, console) driven by an event channel:
 * outgoing bytes wait in a queue until the ring has room; incoming bytes are taken
 * whenever the peer signals. The peer is signalled once per round, after this end
 * produced data (so it reads) or consumed data (so it can write what it held back) —
 * what Linux's xenbus_comms and xenstored both do.
 */
export interface RingStreamSide {
  /** Copy what fits of `bytes` into the outgoing ring; returns how many bytes went. */
  write(bytes: Uint8Array): number;
  /** Take (copy out and consume) everything the peer has produced. */
  read(): Uint8Array;
}

export class RingEndpoint {
  private readonly queue: Uint8Array[] = [];
  private closed = false;

  constructor(
    private readonly side: RingStreamSide,
    private readonly notify: () => void,
    private readonly onData: (chunk: Buffer) => void,
  ) {}

  /** Queue bytes for the peer and push what fits now. */
  send(bytes: Uint8Array): void {
    if (this.closed) return;
    this.queue.push(bytes);
    if (this.pump()) this.notify();
  }

  /** The peer signalled: take its data, push ours, signal back if anything moved. */
  onEvent(): void {
    if (this.closed) return;
    let moved = false;
    for (;;) {
      const chunk = this.side.read();
      if (chunk.length === 0) break;
      moved = true;
      // read() copied the bytes out of the ring, so they can be handed on as they are.
      this.onData(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    }
    if (this.pump()) moved = true;
    if (moved) this.notify();
  }

  /** Messages (or the rest of one) waiting for room in the ring. */
  get queued(): number {
    return this.queue.length;
  }

  /** Bytes waiting for room in the ring. */
  get backlog(): number {
    return this.queue.reduce((n, b) => n + b.length, 0);
  }

  /** The bytes waiting for room, in order (a copy): what a save keeps. */
  saveBacklog(): Uint8Array {
    return Buffer.concat(this.queue);
  }

  /**
   * Queue bytes a save had waiting, without pushing them now: they had no room then,
   * and go when the peer next signals, as they would have.
   */
  loadBacklog(bytes: Uint8Array): void {
    if (bytes.length > 0) this.queue.push(Uint8Array.from(bytes));
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private pump(): boolean {
    let wrote = false;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const n = this.side.write(head);
      if (n > 0) wrote = true;
      if (n === head.length) this.queue.shift();
      else {
        this.queue[0] = head.subarray(n);
        break;
      }
    }
    return wrote;
  }
}
