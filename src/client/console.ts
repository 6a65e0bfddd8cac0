import { CONSOLE_GONE_EVENT, CONSOLE_OUTPUT_EVENT, type ConsoleGoneEvent, type ConsoleOutputEvent, type ConsoleRpc } from '../protocol/console-rpc.js';
import { TypedClient } from './typed-client.js';

/**
 * A domain's console through the daemon's control socket (src/protocol/console-rpc.ts),
 * over a DomainClient's connection: listen first, then attach, since the output kept
 * for the first client is pushed before attach answers.
 */
export class ConsoleRpcClient extends TypedClient<ConsoleRpc> {
  /** The guest's output for `domid`, in order; returns what stops listening. */
  onOutput(domid: number, listener: (bytes: Buffer) => void): () => void {
    return this.rpc.onEvent<ConsoleOutputEvent>(CONSOLE_OUTPUT_EVENT, (e) => {
      if (e.domid === domid) listener(Buffer.from(e.data, 'base64'));
    });
  }

  /** The console of `domid` ended (its domain went away, or the daemon stops). */
  onGone(domid: number, listener: (reason: string) => void): () => void {
    return this.rpc.onEvent<ConsoleGoneEvent>(CONSOLE_GONE_EVENT, (e) => {
      if (e.domid === domid) listener(e.reason);
    });
  }

  attach(domid: number, num?: number): Promise<{ domid: number; name: string }> {
    return this.call('console.attach', { domid, ...(num !== undefined ? { num } : {}) });
  }

  input(domid: number, bytes: Uint8Array): Promise<{ taken: number }> {
    return this.call('console.input', { domid, data: Buffer.from(bytes).toString('base64') });
  }
}
