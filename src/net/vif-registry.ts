/**
 * The daemon's list of connected vifs: what the host-side network fabric (bridges,
 * capture files, net-inject/net-ping/net-send) needs to plug a guest NIC in, without
 * knowing netback. Netback (in dom0 or a driver domain) adds a vif when its ring
 * connects and removes it when it disconnects; the fabric reads the list and
 * subscribes to the changes.
 *
 * Until something takes a vif's `link.onFrame`, the frames its guest sends are
 * dropped and counted (`stats().txDropped`).
 */
import type { EthernetLink } from './link.js';

/** A vif's counters, from the guest's side as xentop shows them (tx = what the guest sent). */
export interface VifStats {
  txPackets: number;
  txBytes: number;
  /** Frames the guest sent that nothing took (no fabric attached, or its handler was null). */
  txDropped: number;
  /** Requests refused with an error status (bad grant, bad size, lying slot count). */
  txErrors: number;
  rxPackets: number;
  rxBytes: number;
  /** Frames for the guest dropped because its rx ring had no room (or the vif was down). */
  rxDropped: number;
}

/** What netback knows of a vif it connected (the daemon adds the rest: see VifEntry). */
export interface VifPort {
  /** The guest (frontend) domain. */
  readonly domid: number;
  /** The device number: `handle`, the N of device/vif/N and backend/vif/<domid>/N. */
  readonly devid: number;
  /** The domain netback runs in: 0, or a driver domain (`backend=`). */
  readonly backendDomid: number;
  /** The guest's MAC, lower case, colon-separated. */
  readonly mac: string;
  /** The backend node's `bridge` (libxl's default is xenbr0), or null when it has none. */
  readonly bridge: string | null;
  /** The backend node's `ip` (the vif spec's ip=), or null. */
  readonly ip: string | null;
  /**
   * dom0's end of the NIC: `onFrame` gets each frame the guest transmits, `send` puts
   * a frame on the guest's rx ring (false when the ring has no room or the vif is down).
   */
  readonly link: EthernetLink;
  /** The counters now. */
  stats(): VifStats;
}

/** One connected vif. */
export interface VifEntry extends VifPort {
  /** The guest's name when the vif connected (the default capture file is named after it). */
  readonly domain: string;
  /** Linux netback's interface name, `vif<domid>.<devid>` (or the spec's vifname=). */
  readonly name: string;
  /** Where the vif's frames are captured: the spec's capture=, else $XENEMU_HOME/captures/<domain>-<devid>.pcap. */
  readonly capture: string;
}

export type VifEvent = { type: 'connect'; vif: VifEntry } | { type: 'disconnect'; vif: VifEntry };
export type VifListener = (event: VifEvent) => void;

/** The vifs connected now, by (domid, devid), and who wants to hear of changes. */
export class VifRegistry {
  private readonly vifs = new Map<string, VifEntry>();
  private readonly listeners = new Set<VifListener>();

  /** Every connected vif, by domid then devid. */
  list(): VifEntry[] {
    return [...this.vifs.values()].sort((a, b) => a.domid - b.domid || a.devid - b.devid);
  }

  get(domid: number, devid: number): VifEntry | undefined {
    return this.vifs.get(key(domid, devid));
  }

  /** A vif of `domid` by devid (a decimal number) or by MAC, as network-detach names one. */
  find(domid: number, ref: string): VifEntry | undefined {
    if (/^[0-9]+$/.test(ref)) return this.get(domid, Number(ref));
    const mac = ref.toLowerCase();
    return this.list().find((v) => v.domid === domid && v.mac === mac);
  }

  /**
   * Hear of every connect and disconnect from now on; the vifs already connected are
   * announced at once as connects, so a late subscriber misses none. Returns the
   * unsubscribe.
   */
  subscribe(listener: VifListener): () => void {
    this.listeners.add(listener);
    for (const vif of this.list()) listener({ type: 'connect', vif });
    return () => this.listeners.delete(listener);
  }

  /** Netback's side: the vif's ring connected. Replaces (disconnecting) an entry of the same (domid, devid). */
  add(vif: VifEntry): void {
    const k = key(vif.domid, vif.devid);
    const old = this.vifs.get(k);
    if (old !== undefined) this.remove(old);
    this.vifs.set(k, vif);
    this.emit({ type: 'connect', vif });
  }

  /** Netback's side: the vif disconnected (detach, guest gone, ring error). Only this very entry is removed. */
  remove(vif: VifEntry): void {
    const k = key(vif.domid, vif.devid);
    if (this.vifs.get(k) !== vif) return;
    this.vifs.delete(k);
    this.emit({ type: 'disconnect', vif });
  }

  private emit(event: VifEvent): void {
    // A listener's failure must not stop the others nor netback, which called us.
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch {
        // The fabric reports its own errors.
      }
    }
  }
}

function key(domid: number, devid: number): string {
  return `${domid}/${devid}`;
}
