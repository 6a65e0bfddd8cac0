/**
 * Errors raised by the guest-memory views.
 *
 * Two kinds: a caller handing a view memory that cannot hold the structure (a
 * programming error in xenemu, code `LAYOUT`), and a *peer* that broke a shared-memory
 * protocol (a guest or backend scribbling indices). The second kind is an answer, not a
 * crash: the owner of the connection catches it and shuts that one connection down,
 * the way xenstored sets the ring's error field and oxenstored/blkback stop serving a
 * ring whose indices make no sense.
 */

import { XenemuError } from '../common/errors.js';

export type AbiErrorCode =
  /** The memory handed to a view is too small, misaligned or not contiguous. */
  | 'LAYOUT'
  /** This host stores typed arrays big-endian; the guest ABI is little-endian. */
  | 'HOST_ENDIAN'
  /** A byte-stream ring (xenstore, console) whose prod − cons exceeds the ring size. */
  | 'RINGIDX'
  /** io/ring.h RING_REQUEST_PROD_OVERFLOW: the frontend claims more requests than fit. */
  | 'RING_REQUEST_PROD_OVERFLOW'
  /** io/ring.h RING_RESPONSE_PROD_OVERFLOW: the backend claims more responses than fit. */
  | 'RING_RESPONSE_PROD_OVERFLOW'
  /** A version-counted structure (vcpu_time_info, wallclock) stayed mid-update. */
  | 'TORN_READ';

export class AbiError extends XenemuError {
  constructor(
    override readonly code: AbiErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}

/**
 * The peer's producer/consumer indices are inconsistent. `prod` and `cons` are the
 * values read from the shared page, `size` the ring's capacity (bytes for byte-stream
 * rings, slots for io/ring.h rings). Nothing was read or written when this is thrown.
 */
export class RingProtocolError extends AbiError {
  constructor(
    code: 'RINGIDX' | 'RING_REQUEST_PROD_OVERFLOW' | 'RING_RESPONSE_PROD_OVERFLOW',
    readonly ring: string,
    readonly prod: number,
    readonly cons: number,
    readonly size: number,
  ) {
    super(
      code,
      `${ring}: peer indices are inconsistent (prod ${prod} - cons ${cons} = ${(prod - cons) >>> 0} > ${size}); ` +
        'the peer broke the ring protocol, stop serving this ring',
    );
    this.name = 'RingProtocolError';
  }
}
