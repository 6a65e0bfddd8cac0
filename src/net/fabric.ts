import { XenemuError } from '../common/errors.js';
import type { Clock } from '../hypervisor/clock.js';
import { Bridge, type BridgeView } from './bridge.js';
import { bridgeCapturePath } from './capture-path.js';
import { tapLink } from './capture-tap.js';
import type { LogLimits } from '../common/log-files.js';
import type { EthernetLink } from './link.js';
import { PcapWriter, type PcapWriterStats, type UsecClock } from './pcap-writer.js';
import type { VifEntry, VifRegistry } from './vif-registry.js';

/**
 * The bridges a fresh host has: libxl gives a vif with no `bridge=` the bridge xenbr0
 * (libxl_nic.c, libxl__device_nic_setdefault), and a Debian Xen host names its bridge
 * so, so a config that works there works here.
 */
export const DEFAULT_BRIDGES: readonly string[] = ['xenbr0'];

/**
 * What vif-bridge (tools/hotplug/Linux/vif-bridge) says through `fatal`, into the
 * backend's hotplug-error node, when `ip link show dev $bridge` fails; libxl then logs
 * it as "script: <this>" and fails the device.
 */
export function unknownBridgeMessage(bridge: string): string {
  return `Could not find bridge device ${bridge}`;
}

export interface NetFabricOptions {
  /** The state dir: bridge captures go to its captures/ folder. */
  home: string;
  clock: Clock;
  log: (line: string) => void;
  /** The bridges that exist (DEFAULT_BRIDGES unless given). */
  bridges?: readonly string[];
  /** Timestamps and flush scheduling of the capture files (tests and benchmarks pass their own). */
  captureNow?: UsecClock;
  captureDefer?: (fn: () => void) => void;
  /** When captures rotate (DEFAULT_CAPTURE_LIMITS unless given). */
  captureLimits?: LogLimits;
  /** What the NIC itself does to frames on their way (faults), below the capture. */
  nicLayer?: (vif: VifEntry, link: EthernetLink) => EthernetLink;
}

interface Plugged {
  vif: VifEntry;
  /** dom0's end of the vif as the fabric sees it: through the capture. */
  link: EthernetLink;
  capture: PcapWriter;
  bridge: Bridge | null;
}

export interface VifCaptureView {
  domid: number;
  devid: number;
  name: string;
  path: string;
  stats: PcapWriterStats;
  failure: string | null;
}

/**
 * Everything on the host's network that is not a NIC driver: each connected vif gets
 * its capture file and joins the bridge its backend names; bridges switch frames
 * between their vifs and capture what enters them. It follows the vif registry, so a
 * vif detached and re-attached (or a daemon restart) is plugged in again by itself.
 */
export class NetFabric {
  private readonly bridges = new Map<string, Bridge>();
  private readonly bridgeCaptures = new Map<string, PcapWriter>();
  private readonly plugged = new Map<string, Plugged>();
  private readonly unsubscribe: () => void;

  constructor(
    registry: VifRegistry,
    private readonly options: NetFabricOptions,
  ) {
    for (const name of options.bridges ?? DEFAULT_BRIDGES) this.bridges.set(name, new Bridge(name, options.clock, this.lazyCapture(name)));
    this.unsubscribe = registry.subscribe((e) => (e.type === 'connect' ? this.plug(e.vif) : this.unplug(e.vif)));
  }

  /** Whether a bridge of that name exists (vif-bridge's `ip link show dev $bridge`). */
  hasBridge(name: string): boolean {
    return this.bridges.has(name);
  }

  bridgeViews(): BridgeView[] {
    return [...this.bridges.values()].map((b) => b.view()).sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * dom0's end of a connected vif, through its capture: what net-inject and the host
   * side of net-send use, so what they put on the wire is captured like any frame.
   */
  vifLink(domid: number, devid: number): EthernetLink {
    const p = this.plugged.get(`${domid}/${devid}`);
    if (p === undefined) throw new XenemuError('ENODEV', `domain ${domid} has no vif ${devid} connected`);
    return p.link;
  }

  captures(): VifCaptureView[] {
    return [...this.plugged.values()].map((p) => ({ domid: p.vif.domid, devid: p.vif.devid, name: p.vif.name, path: p.capture.path, stats: { ...p.capture.stats }, failure: p.capture.failure }));
  }

  /** Write out every capture's buffered frames (before reading them, at daemon stop). */
  flush(): void {
    for (const p of this.plugged.values()) p.capture.flush();
    for (const w of this.bridgeCaptures.values()) w.flush();
  }

  close(): void {
    this.unsubscribe();
    for (const p of [...this.plugged.values()]) this.unplug(p.vif);
    for (const w of this.bridgeCaptures.values()) w.close();
    this.bridgeCaptures.clear();
  }

  private writer(path: string): PcapWriter {
    const { log, captureNow, captureDefer, captureLimits } = this.options;
    return new PcapWriter({
      path,
      log,
      ...(captureNow !== undefined ? { now: captureNow } : {}),
      ...(captureDefer !== undefined ? { defer: captureDefer } : {}),
      ...(captureLimits !== undefined ? { limits: captureLimits } : {}),
    });
  }

  /** A bridge's capture file is made when its first frame comes, not for every bridge at start. */
  private lazyCapture(bridge: string): { write(frame: Uint8Array): void; readonly path: string } {
    const path = bridgeCapturePath(this.options.home, bridge);
    return {
      path,
      write: (frame) => {
        let w = this.bridgeCaptures.get(bridge);
        if (w === undefined) {
          w = this.writer(path);
          this.bridgeCaptures.set(bridge, w);
        }
        w.write(frame);
      },
    };
  }

  private plug(vif: VifEntry): void {
    const capture = this.writer(vif.capture);
    const nic = this.options.nicLayer ? this.options.nicLayer(vif, vif.link) : vif.link;
    const link = tapLink(nic, capture);
    let bridge: Bridge | null = null;
    if (vif.bridge !== null) {
      bridge = this.bridges.get(vif.bridge) ?? null;
      // The toolstack's hotplug step refuses such a vif; one restored from an older state may still name one.
      if (bridge === null) this.options.log(`${vif.name}: ${unknownBridgeMessage(vif.bridge)}; the vif is on no bridge`);
      else bridge.addPort(vif.name, link);
    }
    this.plugged.set(`${vif.domid}/${vif.devid}`, { vif, link, capture, bridge });
  }

  private unplug(vif: VifEntry): void {
    const k = `${vif.domid}/${vif.devid}`;
    const p = this.plugged.get(k);
    if (p === undefined || p.vif !== vif) return;
    p.bridge?.removePort(vif.name);
    p.capture.close();
    vif.link.onFrame = null;
    this.plugged.delete(k);
  }
}
