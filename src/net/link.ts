/**
 * The one shape every carrier of Ethernet frames has, so the pieces of the emulated
 * network plug into each other without knowing what is on the other side: netback's
 * vif (dom0's end of a guest NIC), a bridge port, a capture tap, netfront's device in
 * the guest and the guest's network stack above it.
 *
 * A frame is a whole Ethernet frame (destination MAC first, no FCS). The receiver may
 * keep the bytes only until its handler returns: whoever needs them later copies them,
 * so the rings and grant copies underneath can reuse their buffers.
 */
export interface EthernetLink {
  /** Hand a frame to the other side; false when it was dropped (ring full, link down). */
  send(frame: Uint8Array): boolean;
  /** Called with each frame that arrives from the other side; null drops them. */
  onFrame: ((frame: Uint8Array) => void) | null;
}
