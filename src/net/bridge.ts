import type { Clock } from '../hypervisor/clock.js';
import type { FrameSink } from './capture-tap.js';
import type { EthernetLink } from './link.js';
import { formatMac, macKey } from './mac.js';

/** Linux's default bridge ageing time (brctl setageing, BR_DEFAULT_AGEING_TIME): 300 s. */
export const DEFAULT_AGEING_NS = 300e9;

/** The 14-byte Ethernet header: anything shorter is not a frame a switch can forward. */
const ETH_HEADER = 14;

export interface PortCounters {
  /** Frames that came in on the port (from its vif) and bytes of them. */
  rxFrames: number;
  rxBytes: number;
  /** Frames the bridge handed to the port, and those the port refused (ring full, link down). */
  txFrames: number;
  txBytes: number;
  txDropped: number;
}

interface Port {
  name: string;
  /** 1-based, as brctl showmacs numbers them; stable while the port is on the bridge. */
  no: number;
  link: EthernetLink;
  counters: PortCounters;
}

interface Learned {
  port: Port;
  /** When a frame from this MAC last came in (clock ns). */
  seen: number;
  mac: string;
}

export interface MacEntry {
  mac: string;
  port: string;
  portNo: number;
  /** Seconds since the MAC was last seen, as brctl showmacs' ageing timer. */
  ageSeconds: number;
}

export interface BridgePortView extends PortCounters {
  name: string;
  no: number;
}

export interface BridgeView {
  name: string;
  ports: BridgePortView[];
  macs: MacEntry[];
  ageingSeconds: number;
  /** Frames forwarded to one port, flooded, and filtered (destination on the port it came from, runts). */
  forwarded: number;
  flooded: number;
  filtered: number;
  capture: string | null;
}

/**
 * A learning switch between vifs, as a Linux bridge in dom0 joins `vifN.M` devices
 * (net/bridge/br_input.c, br_forward.c, br_fdb.c): each frame's source MAC is learned
 * on the port it came in on; a unicast frame to a MAC learned on another port goes
 * there only, to one learned on the same port is dropped (the other end already has
 * it), and broadcast, multicast and unknown unicast are flooded to every port but the
 * one the frame came in on. A learned MAC is forgotten once not seen for the ageing
 * time, on the hypervisor's clock, and when its port leaves.
 *
 * Every frame that enters the bridge goes to its capture once.
 */
export class Bridge {
  private readonly ports = new Map<string, Port>();
  /** Ports in the order they joined: the flood order, stable for captures and tests. */
  private portList: Port[] = [];
  private readonly fdb = new Map<number, Learned>();
  private nextPortNo = 1;
  forwarded = 0;
  flooded = 0;
  filtered = 0;

  constructor(
    readonly name: string,
    private readonly clock: Clock,
    private readonly capture: (FrameSink & { path?: string }) | null = null,
    readonly ageingNs: number = DEFAULT_AGEING_NS,
  ) {}

  get portCount(): number {
    return this.portList.length;
  }

  /** Join a link (a vif's dom0 end) as port `name`: the bridge takes its onFrame. */
  addPort(name: string, link: EthernetLink): void {
    if (this.ports.has(name)) throw new Error(`bridge ${this.name} already has a port ${name}`);
    const port: Port = { name, no: this.nextPortNo++, link, counters: { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, txDropped: 0 } };
    this.ports.set(name, port);
    this.portList.push(port);
    link.onFrame = (frame) => this.input(port, frame);
  }

  /** Take a port off (vif gone or unplugged): its learned MACs go with it. */
  removePort(name: string): void {
    const port = this.ports.get(name);
    if (port === undefined) return;
    port.link.onFrame = null;
    this.ports.delete(name);
    this.portList = this.portList.filter((p) => p !== port);
    for (const [key, l] of this.fdb) if (l.port === port) this.fdb.delete(key);
  }

  hasPort(name: string): boolean {
    return this.ports.has(name);
  }

  private input(from: Port, frame: Uint8Array): void {
    from.counters.rxFrames++;
    from.counters.rxBytes += frame.length;
    if (frame.length < ETH_HEADER) {
      this.filtered++;
      return;
    }
    this.capture?.write(frame);
    const now = this.clock.now();
    // A group address (I/G bit set) is never a source (br_input.c drops such frames).
    if ((frame[6]! & 1) === 0) {
      const src = macKey(frame, 6);
      const known = this.fdb.get(src);
      if (known === undefined) this.fdb.set(src, { port: from, seen: now, mac: formatMac(frame, 6) });
      else {
        known.port = from;
        known.seen = now;
      }
    }
    if ((frame[0]! & 1) === 0) {
      const to = this.fdb.get(macKey(frame, 0));
      if (to !== undefined && now - to.seen <= this.ageingNs) {
        if (to.port === from) this.filtered++;
        else {
          this.forwarded++;
          this.output(to.port, frame);
        }
        return;
      }
    }
    this.flooded++;
    for (const p of this.portList) if (p !== from) this.output(p, frame);
  }

  private output(port: Port, frame: Uint8Array): void {
    if (port.link.send(frame)) {
      port.counters.txFrames++;
      port.counters.txBytes += frame.length;
    } else port.counters.txDropped++;
  }

  /** Forget MACs past the ageing time (br_fdb_cleanup); lookups ignore them anyway. */
  private expire(now: number): void {
    for (const [key, l] of this.fdb) if (now - l.seen > this.ageingNs) this.fdb.delete(key);
  }

  view(): BridgeView {
    const now = this.clock.now();
    this.expire(now);
    return {
      name: this.name,
      ports: this.portList.map((p) => ({ name: p.name, no: p.no, ...p.counters })),
      macs: [...this.fdb.values()]
        .map((l) => ({ mac: l.mac, port: l.port.name, portNo: l.port.no, ageSeconds: (now - l.seen) / 1e9 }))
        .sort((a, b) => a.portNo - b.portNo || a.mac.localeCompare(b.mac)),
      ageingSeconds: this.ageingNs / 1e9,
      forwarded: this.forwarded,
      flooded: this.flooded,
      filtered: this.filtered,
      capture: this.capture?.path ?? null,
    };
  }
}
