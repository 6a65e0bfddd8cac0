import { ConsoleRingGuest, RingEndpoint } from '../../abi/index.js';
import type { Hypercalls } from '../../hypervisor/hypercalls.js';
import type { EvtchnDispatch } from '../intr/evtchn-dispatch.js';

/**
 * hvc0: the guest's primary console on its console ring page (io/console.h). Output
 * goes into out[] and the backend is signalled; input from the backend (in[]) is
 * handed to `onInput`.
 */
export class HvcConsole {
  private readonly endpoint: RingEndpoint;

  constructor(
    page: Uint8Array,
    port: number,
    hc: Hypercalls,
    intr: EvtchnDispatch,
    onInput: (bytes: Buffer) => void = () => {},
  ) {
    const ring = new ConsoleRingGuest(page);
    this.endpoint = new RingEndpoint({ write: (b) => ring.write(b), read: () => ring.read() }, () => hc.evtchn.send(port), onInput);
    intr.bind(port, 0, () => this.endpoint.onEvent());
    hc.evtchn.unmask(port);
  }

  /** One line of output; terminals want CR LF. */
  writeLine(line: string): void {
    this.endpoint.send(Buffer.from(`${line}\r\n`, 'utf8'));
  }
}
