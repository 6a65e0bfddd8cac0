import { RingEndpoint, XENSTORE_ERROR, XenstoreRingGuest } from '../../abi/index.js';
import type { XsTransport } from '../../protocol/xs-client.js';
import type { Hypercalls } from '../../hypervisor/hypercalls.js';
import type { EvtchnDispatch } from '../intr/evtchn-dispatch.js';

/**
 * The guest's connection to xenstored: its xenstore ring page and the event channel
 * the domain builder allocated (start_info.store_evtchn, or HVM_PARAM_STORE_EVTCHN).
 * The same client code that tools use over the unix socket runs on top of it.
 *
 * xenstored stops serving a ring that broke the protocol and says why in the page's
 * error word (xenstore-ring.txt); the guest then fails its requests rather than wait
 * for replies that will never come.
 */
export function xenstoreRingTransport(page: Uint8Array, port: number, hc: Hypercalls, intr: EvtchnDispatch): XsTransport {
  const ring = new XenstoreRingGuest(page);
  let endpoint: RingEndpoint | null = null;
  return {
    attach(onData, onClose) {
      endpoint = new RingEndpoint(
        { write: (b) => ring.write(b), read: () => ring.read() },
        () => hc.evtchn.send(port),
        onData,
      );
      const ep = endpoint;
      const onEvent = (): void => {
        ep.onEvent();
        if (ring.error !== XENSTORE_ERROR.NONE) {
          ep.close();
          onClose(new Error(`xenstored stopped serving the ring (error ${ring.error})`));
        }
      };
      intr.bind(port, 0, onEvent);
      hc.evtchn.unmask(port);
      // Replies may already be waiting (a reconnect); take them now.
      onEvent();
    },
    write(bytes) {
      endpoint?.send(bytes);
    },
    close() {
      endpoint?.close();
      intr.unbind(port);
    },
  };
}
