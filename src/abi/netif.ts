/**
 * The network protocol of xen/io/netif.h (x86_64): the tx ring (the guest transmits:
 * requests name granted pages holding the frame, one slot per fragment), the rx ring
 * (the guest posts empty granted pages, the backend copies frames into them), the
 * extra-info slot (GSO) that may follow a first slot, and the flag and status macros.
 * Checked against the header by test/abi/offsets.test.ts.
 *
 * A frame of several slots: the first tx request's `size` is the whole frame's length,
 * each following slot's `size` its own fragment; NETTXF_more_data says another slot
 * follows. On rx, each response's `status` is its fragment's length (or a negative
 * NETIF_RSP_*), NETRXF_more_data chains them.
 *
 * As for blkif, a backend copies a request out of the ring before it checks it.
 */
import { defineConstant, defineConstantGroup } from './constants.js';
import { defineStruct, XEN_PAGE_SIZE } from './layout.js';
import { ringSize } from './ring.js';

/** NETTXF_*: a tx request's `flags`. */
export const NETTXF = defineConstantGroup('NETTXF_', 'xen/io/netif.h', {
  csum_blank: 1 << 0,
  data_validated: 1 << 1,
  /** Another request of the same frame follows. */
  more_data: 1 << 2,
  /** An extra-info slot follows this request. */
  extra_info: 1 << 3,
});

/** NETRXF_*: an rx response's `flags`. */
export const NETRXF = defineConstantGroup('NETRXF_', 'xen/io/netif.h', {
  data_validated: 1 << 0,
  csum_blank: 1 << 1,
  more_data: 1 << 2,
  extra_info: 1 << 3,
  gso_prefix: 1 << 4,
});

/** NETIF_RSP_*: a response's `status` (on rx a non-negative status is the fragment's length). */
export const NETIF_RSP = defineConstantGroup('NETIF_RSP_', 'xen/io/netif.h', {
  DROPPED: -2,
  ERROR: -1,
  OKAY: 0,
  /** The response of an extra-info slot: nothing to say. */
  NULL: 1,
});

/** XEN_NETIF_EXTRA_TYPE_*: an extra-info slot's `type`. */
export const XEN_NETIF_EXTRA_TYPE = defineConstantGroup('XEN_NETIF_EXTRA_TYPE_', 'xen/io/netif.h', {
  NONE: 0,
  GSO: 1,
  MCAST_ADD: 2,
  MCAST_DEL: 3,
  HASH: 4,
  MAX: 5,
});

/** XEN_NETIF_EXTRA_FLAG_MORE: another extra-info slot follows. */
export const XEN_NETIF_EXTRA_FLAG_MORE = defineConstant('XEN_NETIF_EXTRA_FLAG_MORE', 'xen/io/netif.h', 1);

/** XEN_NETIF_GSO_TYPE_*: the protocol a GSO frame is segmented as. */
export const XEN_NETIF_GSO_TYPE = defineConstantGroup('XEN_NETIF_GSO_TYPE_', 'xen/io/netif.h', {
  NONE: 0,
  TCPV4: 1,
  TCPV6: 2,
});

/** The largest frame a tx request's size can say (uint16_t): a frame is under 64 KiB. */
export const XEN_NETIF_MAX_TX_SIZE = defineConstant('XEN_NETIF_MAX_TX_SIZE', 'xen/io/netif.h', 0xffff);
/** Slots a backend must accept for one frame (Linux netback's fatal_skb_slots default is 20). */
export const XEN_NETIF_NR_SLOTS_MIN = defineConstant('XEN_NETIF_NR_SLOTS_MIN', 'xen/io/netif.h', 18);

export const NETIF_TX_REQUEST = defineStruct({
  c: 'struct netif_tx_request',
  header: 'xen/io/netif.h',
  size: 12,
  align: 4,
  fields: {
    gref: { offset: 0, size: 4, c: 'gref' },
    offset: { offset: 4, size: 2, c: 'offset' },
    flags: { offset: 6, size: 2, c: 'flags' },
    id: { offset: 8, size: 2, c: 'id' },
    size: { offset: 10, size: 2, c: 'size' },
  },
});

export const NETIF_TX_RESPONSE = defineStruct({
  c: 'struct netif_tx_response',
  header: 'xen/io/netif.h',
  size: 4,
  align: 2,
  fields: {
    id: { offset: 0, size: 2, c: 'id' },
    status: { offset: 2, size: 2, c: 'status' },
  },
});

export const NETIF_RX_REQUEST = defineStruct({
  c: 'struct netif_rx_request',
  header: 'xen/io/netif.h',
  size: 8,
  align: 4,
  fields: {
    id: { offset: 0, size: 2, c: 'id' },
    gref: { offset: 4, size: 4, c: 'gref' },
  },
});

export const NETIF_RX_RESPONSE = defineStruct({
  c: 'struct netif_rx_response',
  header: 'xen/io/netif.h',
  size: 8,
  align: 2,
  fields: {
    id: { offset: 0, size: 2, c: 'id' },
    offset: { offset: 2, size: 2, c: 'offset' },
    flags: { offset: 4, size: 2, c: 'flags' },
    status: { offset: 6, size: 2, c: 'status' },
  },
});

export const NETIF_EXTRA_INFO = defineStruct({
  c: 'struct netif_extra_info',
  header: 'xen/io/netif.h',
  size: 8,
  align: 2,
  fields: {
    type: { offset: 0, size: 1, c: 'type' },
    flags: { offset: 1, size: 1, c: 'flags' },
    gsoSize: { offset: 2, size: 2, c: 'u.gso.size' },
    gsoType: { offset: 4, size: 1, c: 'u.gso.type' },
    gsoFeatures: { offset: 6, size: 2, c: 'u.gso.features' },
  },
});

/** Slots of a one-page tx ring (Linux's NET_TX_RING_SIZE): 256. */
export const NET_TX_RING_SIZE = ringSize(12, XEN_PAGE_SIZE);
/** Slots of a one-page rx ring (NET_RX_RING_SIZE): 256. */
export const NET_RX_RING_SIZE = ringSize(8, XEN_PAGE_SIZE);

/** A tx request as the backend copied it out of the ring. */
export interface NetifTxRequest {
  gref: number;
  offset: number;
  flags: number;
  id: number;
  size: number;
}

/** An extra-info slot, copied. */
export interface NetifExtraInfo {
  type: number;
  flags: number;
  gsoSize: number;
  gsoType: number;
  gsoFeatures: number;
}

const T = NETIF_TX_REQUEST.fields;
const TR = NETIF_TX_RESPONSE.fields;
const R = NETIF_RX_REQUEST.fields;
const RR = NETIF_RX_RESPONSE.fields;
const X = NETIF_EXTRA_INFO.fields;

export function readTxRequest(v: DataView, o: number): NetifTxRequest {
  return {
    gref: v.getUint32(o + T.gref.offset, true),
    offset: v.getUint16(o + T.offset.offset, true),
    flags: v.getUint16(o + T.flags.offset, true),
    id: v.getUint16(o + T.id.offset, true),
    size: v.getUint16(o + T.size.offset, true),
  };
}

export function writeTxRequest(v: DataView, o: number, r: NetifTxRequest): void {
  v.setUint32(o + T.gref.offset, r.gref, true);
  v.setUint16(o + T.offset.offset, r.offset, true);
  v.setUint16(o + T.flags.offset, r.flags, true);
  v.setUint16(o + T.id.offset, r.id, true);
  v.setUint16(o + T.size.offset, r.size, true);
}

export function readTxResponse(v: DataView, o: number): { id: number; status: number } {
  return { id: v.getUint16(o + TR.id.offset, true), status: v.getInt16(o + TR.status.offset, true) };
}

export function writeTxResponse(v: DataView, o: number, id: number, status: number): void {
  v.setUint16(o + TR.id.offset, id, true);
  v.setInt16(o + TR.status.offset, status, true);
}

export function readRxRequest(v: DataView, o: number): { id: number; gref: number } {
  return { id: v.getUint16(o + R.id.offset, true), gref: v.getUint32(o + R.gref.offset, true) };
}

export function writeRxRequest(v: DataView, o: number, id: number, gref: number): void {
  v.setUint16(o + R.id.offset, id, true);
  v.setUint16(o + 2, 0, true);
  v.setUint32(o + R.gref.offset, gref, true);
}

export interface NetifRxResponse {
  id: number;
  offset: number;
  flags: number;
  status: number;
}

export function readRxResponse(v: DataView, o: number): NetifRxResponse {
  return {
    id: v.getUint16(o + RR.id.offset, true),
    offset: v.getUint16(o + RR.offset.offset, true),
    flags: v.getUint16(o + RR.flags.offset, true),
    status: v.getInt16(o + RR.status.offset, true),
  };
}

export function writeRxResponse(v: DataView, o: number, r: NetifRxResponse): void {
  v.setUint16(o + RR.id.offset, r.id, true);
  v.setUint16(o + RR.offset.offset, r.offset, true);
  v.setUint16(o + RR.flags.offset, r.flags, true);
  v.setInt16(o + RR.status.offset, r.status, true);
}

export function readExtraInfo(v: DataView, o: number): NetifExtraInfo {
  return {
    type: v.getUint8(o + X.type.offset),
    flags: v.getUint8(o + X.flags.offset),
    gsoSize: v.getUint16(o + X.gsoSize.offset, true),
    gsoType: v.getUint8(o + X.gsoType.offset),
    gsoFeatures: v.getUint16(o + X.gsoFeatures.offset, true),
  };
}

export function writeExtraInfo(v: DataView, o: number, x: NetifExtraInfo): void {
  v.setUint8(o + X.type.offset, x.type);
  v.setUint8(o + X.flags.offset, x.flags);
  v.setUint16(o + X.gsoSize.offset, x.gsoSize, true);
  v.setUint8(o + X.gsoType.offset, x.gsoType);
  v.setUint8(o + 5, 0);
  v.setUint16(o + X.gsoFeatures.offset, x.gsoFeatures, true);
}
