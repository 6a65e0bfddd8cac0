import type { XsTransport } from '../protocol/xs-client.js';
import { encodeMessage, XsFrameReader, XsType } from '../protocol/xs-wire.js';
import type { XenStored } from '../xenstore/xenstored.js';

/**
 * dom0's own connection to xenstored. xenstored runs in the host process, in dom0's
 * place, so dom0's kernel talks to it in-process (with dom0's privileges), through the
 * same framing a socket or a ring would carry.
 *
 * This connection is the toolstack's: it must outlive any one bad request. A header
 * announcing more than XENSTORE_PAYLOAD_MAX is answered with E2BIG and the reader
 * starts afresh with the next write, which is safe here as it is not on a socket:
 * the client writes each message whole, in one write, so the next write begins on a
 * message boundary.
 */
export function engineTransport(xs: XenStored, domid = 0): XsTransport {
  let reader = new XsFrameReader();
  let receive: ((chunk: Buffer) => void) | null = null;
  const conn = xs.connect(domid, 'internal', { deliver: (frame) => receive?.(frame) });
  return {
    attach(onData) {
      receive = onData;
    },
    write(bytes) {
      for (const m of reader.push(bytes)) xs.handle(conn, m);
      const bad = reader.oversized;
      if (bad !== null) {
        reader = new XsFrameReader();
        receive?.(encodeMessage(XsType.ERROR, bad.reqId, bad.txId, 'E2BIG\0'));
      }
    },
    close() {
      xs.disconnect(conn);
    },
  };
}
