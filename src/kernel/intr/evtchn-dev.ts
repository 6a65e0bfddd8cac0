import { IntrError } from './errors.js';
import type { EvtchnUserState } from './saved.js';
import type { XenIntr, XenIntrSource } from './xen-intr.js';

/** EVTCHN_RING_SIZE: a page of evtchn_port_t. */
export const EVTCHN_RING_SIZE = 4096 / 4;

/** One port bound through the device. */
export interface UserPort {
  port: number;
  src: XenIntrSource;
  /** False from the filter until the reader writes the port back (the port is masked meanwhile). */
  enabled: boolean;
  /** Notifications delivered to the reader on this port. */
  notifications: number;
}

/**
 * One open of /dev/xen/evtchn (FreeBSD's sys/dev/xen/evtchn/evtchn_dev.c, the device
 * behind libxenevtchn): ports bound through it belong to this open; a notification
 * masks the port in the filter and puts it in the open's ring in the interrupt
 * thread; the reader takes ports from the ring and writes them back to unmask them.
 *
 * Errors are the device's: ENOTCONN for notifying or unbinding a port this open did
 * not bind, and the hypercall's errno (ESRCH, EINVAL, ENOSPC) for a failed bind.
 */
export class EvtchnUser {
  private readonly ports = new Map<number, UserPort>();
  private ring: number[] = [];
  /** The ring filled up and notifications were lost (the reader gets EFBIG). */
  overflow = false;
  private closed = false;

  constructor(
    private readonly intr: XenIntr,
    /** Read the ring and re-enable each port as soon as it fires (a reader that is always waiting). */
    private readonly autoAck: boolean,
    private readonly domid: number,
  ) {}

  private add(src: XenIntrSource): number {
    const entry: UserPort = { port: src.port, src, enabled: true, notifications: 0 };
    this.ports.set(src.port, entry);
    return src.port;
  }

  /** evtchn_filter: mask the port until the reader is done with it, and wake the thread. */
  private readonly filter = (src: XenIntrSource): 'schedule-thread' => {
    const p = this.ports.get(src.port);
    this.intr.maskPort(src.port);
    if (p !== undefined) p.enabled = false;
    return 'schedule-thread';
  };

  /** evtchn_interrupt: put the port in the ring for the reader. */
  private readonly ithread = (src: XenIntrSource): void => {
    const p = this.ports.get(src.port);
    if (p === undefined) return;
    p.notifications++;
    if (this.ring.length < EVTCHN_RING_SIZE) this.ring.push(src.port);
    else this.overflow = true;
    if (this.autoAck) this.write(this.read());
  };

  private handlers() {
    return { filter: this.filter, ithread: this.ithread };
  }

  private open(): void {
    if (this.closed) throw new IntrError('EINVAL', 'the event channel device is closed');
  }

  /** IOCTL_EVTCHN_BIND_UNBOUND_PORT: a new port `remoteDom` may bind to. */
  bindUnboundPort(remoteDom: number): number {
    this.open();
    return this.add(this.intr.allocAndBindLocalPort('evtchn0', remoteDom, this.handlers()));
  }

  /** IOCTL_EVTCHN_BIND_INTERDOMAIN: connect to another domain's unbound port. */
  bindInterdomain(remoteDom: number, remotePort: number): number {
    this.open();
    return this.add(this.intr.bindRemotePort('evtchn0', remoteDom, remotePort, this.handlers()));
  }

  /** IOCTL_EVTCHN_BIND_VIRQ: a VIRQ, on vCPU 0. */
  bindVirq(virq: number): number {
    this.open();
    return this.add(this.intr.bindVirq('evtchn0', virq, 0, this.handlers()));
  }

  private mine(port: number, op: string): UserPort {
    const p = this.ports.get(port);
    if (p === undefined) {
      const other = this.intr.sourceOf(port);
      const owner = other === undefined ? 'it is not bound' : `it belongs to ${other.name}`;
      throw new IntrError('ENOTCONN', `cannot ${op} port ${port} of domain ${this.domid}: this event channel device did not bind it (${owner})`);
    }
    return p;
  }

  /** IOCTL_EVTCHN_UNBIND: unbind (and close) a port of this open. */
  unbind(port: number): void {
    this.open();
    const p = this.mine(port, 'unbind');
    this.ports.delete(port);
    this.ring = this.ring.filter((x) => x !== port);
    this.intr.unbindSource(p.src);
  }

  /** IOCTL_EVTCHN_NOTIFY: EVTCHNOP_send on a port of this open. */
  notify(port: number): void {
    this.open();
    this.intr.signal(this.mine(port, 'notify').src);
  }

  /** read(): the ports that fired, oldest first (EFBIG after an overflow). */
  read(): number[] {
    if (this.overflow) throw new IntrError('EFBIG', 'the event channel ring overflowed: reset it');
    const r = this.ring;
    this.ring = [];
    return r;
  }

  /** write(): re-enable (unmask) ports of this open that fired. */
  write(ports: readonly number[]): void {
    for (const port of ports) {
      const p = this.ports.get(port);
      if (p !== undefined && !p.enabled) {
        p.enabled = true;
        this.intr.unmaskPort(port);
      }
    }
  }

  /** IOCTL_EVTCHN_RESET: empty the ring, forget an overflow. */
  reset(): void {
    this.ring = [];
    this.overflow = false;
  }

  bound(): UserPort[] {
    return [...this.ports.values()].sort((a, b) => a.port - b.port);
  }

  get(port: number): UserPort | undefined {
    return this.ports.get(port);
  }

  save(): EvtchnUserState {
    return {
      autoAck: this.autoAck,
      ports: this.bound().map(({ port, src, enabled, notifications }) => ({ port, irq: src.irq, enabled, notifications })),
      ring: [...this.ring],
      overflow: this.overflow,
      closed: this.closed,
    };
  }

  /** Take a save into a fresh open over the loaded interrupt layer: its ports get the device's handlers back. */
  load(s: EvtchnUserState): void {
    if (this.ports.size > 0 || this.closed) throw new IntrError('EBUSY', 'a saved event channel device loads only into a fresh open');
    if (s.autoAck !== this.autoAck) throw new IntrError('EINVAL', `saved event channel device ${s.autoAck ? 'acknowledges' : 'waits for its reader'}; this open does not`);
    for (const p of s.ports) {
      const src = this.intr.restoreHandlers(p.irq, this.handlers());
      if (src.port !== p.port) throw new IntrError('EINVAL', `saved event channel device: irq${p.irq} is on port ${src.port}, not ${p.port}`);
      this.ports.set(p.port, { port: p.port, src, enabled: p.enabled, notifications: p.notifications });
    }
    this.ring = [...s.ring];
    this.overflow = s.overflow;
    this.closed = s.closed;
  }

  /** Close the device: every port it bound is unbound and closed. */
  close(): void {
    for (const p of this.ports.values()) this.intr.unbindSource(p.src);
    this.ports.clear();
    this.ring = [];
    this.closed = true;
  }
}
