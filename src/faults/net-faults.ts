import type { Clock } from '../hypervisor/clock.js';
import type { EthernetLink } from '../net/link.js';
import type { ActiveFault, FaultRegistry } from './registry.js';

/** Which NIC a frame crosses, and which way: tx is from the guest, rx to it. */
interface Nic {
  domid: number;
  devid: number;
  name: string;
}

/**
 * The NIC fault kinds, at dom0's end of each vif, below its capture: net-drop loses a
 * frame, net-corrupt flips one of its bytes, net-delay hands it on late. Frames from
 * the guest are faulted before the capture sees them (lost on the NIC, never on the
 * wire); frames to the guest after it (on the wire, lost on the NIC). A faulted frame
 * is a copy: the ring's buffer is not ours to change or keep.
 */
export class NetFaults {
  constructor(
    private readonly registry: FaultRegistry,
    private readonly clock: Clock,
  ) {}

  /** `inner` (a vif's dom0 end) with the NIC faults on it; `inner.onFrame` belongs to the result. */
  wrap(nic: Nic, inner: EthernetLink): EthernetLink {
    const outer: EthernetLink = {
      send: (frame) => this.pass(nic, 'rx', frame, (f) => inner.send(f)),
      onFrame: null,
    };
    inner.onFrame = (frame) => {
      this.pass(nic, 'tx', frame, (f) => {
        outer.onFrame?.(f);
        return true;
      });
    };
    return outer;
  }

  private pass(nic: Nic, way: 'tx' | 'rx', frame: Uint8Array, deliver: (f: Uint8Array) => boolean): boolean {
    const r = this.registry;
    if (!r.has('net-drop') && !r.has('net-corrupt') && !r.has('net-delay')) return deliver(frame);
    const applies = (f: ActiveFault): boolean => f.domid === nic.domid && (f.spec.options.vif === undefined || f.spec.options.vif === nic.devid);
    const what = (did: string) => () => `${nic.name} ${way} frame of ${frame.length} bytes ${did}`;
    if (r.fire('net-drop', applies, what('dropped')) !== null) return way === 'rx';
    let out = frame;
    const corrupt = r.fire('net-corrupt', applies, what('corrupted'));
    if (corrupt !== null) {
      out = Uint8Array.from(frame);
      out[Math.floor(corrupt.rng.next() * out.length)]! ^= 0xff;
    }
    const late = r.fire('net-delay', applies, (f) => `${nic.name} ${way} frame of ${frame.length} bytes held ${f.spec.options.delayMs} ms`);
    if (late === null) return deliver(out);
    const copy = out === frame ? Uint8Array.from(frame) : out;
    this.clock.after((late.spec.options.delayMs ?? 0) * 1e6, () => deliver(copy));
    return true;
  }
}
