import type { EthernetLink } from '../../src/net/link.js';
import type { VifEntry, VifStats } from '../../src/net/vif-registry.js';

/**
 * Two EthernetLinks joined back to back, standing in for netfront and netback's
 * rings: what one end sends arrives at the other's onFrame at once (synchronously).
 * `up = false` makes both ends refuse frames, as a full ring or a closed vif does.
 */
export interface LinkedPair {
  a: EthernetLink;
  b: EthernetLink;
  up: boolean;
}

export function linkedPair(): LinkedPair {
  const pair: LinkedPair = {
    up: true,
    a: {
      send: (f) => {
        if (!pair.up) return false;
        pair.b.onFrame?.(f);
        return true;
      },
      onFrame: null,
    },
    b: {
      send: (f) => {
        if (!pair.up) return false;
        pair.a.onFrame?.(f);
        return true;
      },
      onFrame: null,
    },
  };
  return pair;
}

/** A connected vif as netback would register it: `entry.link` is dom0's end, `guest` the guest NIC's. */
export function fakeVif(v: { domid: number; devid?: number; domain?: string; mac: string; bridge?: string | null; ip?: string | null; capture: string }): { entry: VifEntry; guest: EthernetLink; pair: LinkedPair } {
  const pair = linkedPair();
  const devid = v.devid ?? 0;
  const zero: VifStats = { txPackets: 0, txBytes: 0, txDropped: 0, txErrors: 0, rxPackets: 0, rxBytes: 0, rxDropped: 0 };
  const entry: VifEntry = {
    domid: v.domid,
    domain: v.domain ?? `guest${v.domid}`,
    devid,
    backendDomid: 0,
    name: `vif${v.domid}.${devid}`,
    mac: v.mac,
    bridge: v.bridge === undefined ? 'xenbr0' : v.bridge,
    ip: v.ip ?? null,
    capture: v.capture,
    link: pair.a,
    stats: () => zero,
  };
  return { entry, guest: pair.b, pair };
}
