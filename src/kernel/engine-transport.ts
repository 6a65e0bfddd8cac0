import type { XsTransport } from '../client/xs-client.js';
import { XsFrameReader } from '../protocol/xs-wire.js';
import type { XenStored } from '../xenstore/xenstored.js';

/**
 * dom0's own connection to xenstored. xenstored runs in the host process, in dom0's
 * place, so dom0's kernel talks to it in-process (with dom0's privileges), through the
 * same framing a socket or a ring would carry.
 */
export function engineTransport(xs: XenStored, domid = 0): XsTransport {
  const reader = new XsFrameReader();
  let receive: ((chunk: Buffer) => void) | null = null;
  const conn = xs.connect(domid, 'internal', { deliver: (frame) => receive?.(frame) });
  return {
    attach(onData) {
      receive = onData;
    },
    write(bytes) {
      for (const m of reader.push(bytes)) xs.handle(conn, m);
    },
    close() {
      xs.disconnect(conn);
    },
  };
}
