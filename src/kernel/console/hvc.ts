import { ConsoleRingGuest, RingEndpoint } from '../../abi/index.js';
import type { Hypercalls } from '../../hypervisor/hypercalls.js';
import type { EvtchnDispatch } from '../intr/evtchn-dispatch.js';
import type { HvcConsoleState } from './saved.js';

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

  save(): HvcConsoleState {
    return { backlog: Buffer.from(this.endpoint.saveBacklog()).toString('base64') };
  }

  /** Take a save into a fresh console on the same ring: output that was waiting for room waits again. */
  load(s: HvcConsoleState): void {
    if (this.endpoint.queued > 0) throw new Error('hvc0: a saved console loads only into a fresh one');
    this.endpoint.loadBacklog(Buffer.from(s.backlog, 'base64'));
  }

  /** One line of output; terminals want CR LF. */
  writeLine(line: string): void {
    this.write(`${line}\r\n`);
  }

  /** Text as it is (the shell's echo and prompts). */
  write(text: string): void {
    this.endpoint.send(Buffer.from(text, 'utf8'));
  }
}
