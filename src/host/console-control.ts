import { XenemuError } from '../common/errors.js';
import { CONSOLE_GONE_EVENT, CONSOLE_OUTPUT_EVENT, type ConsoleGoneEvent, type ConsoleOutputEvent, type ConsoleRpc } from '../protocol/console-rpc.js';
import type { ConsoleClient } from './console-service.js';
import { rpcMethods, type RpcContext, type RpcMethod } from './control-server.js';
import type { Machine } from './machine.js';

/**
 * The daemon's side of `xenemu console`: a control connection that attaches becomes
 * the domain's console client (console-rpc.ts). Output is pushed as it comes, with the
 * socket's own flow control (a client that stops reading gets its output held in the
 * console's bounded buffer, see ConsoleService); the connection closing detaches it.
 */
export function consoleMethods(machine: Machine): Record<string, RpcMethod> {
  /** The attachments of each connection, by domid: a connection may hold several. */
  const attached = new WeakMap<RpcContext, Map<number, () => void>>();
  const of = (ctx: RpcContext): Map<number, () => void> => {
    let m = attached.get(ctx);
    if (m === undefined) {
      const mine = (m = new Map());
      attached.set(ctx, mine);
      ctx.onClose(() => {
        for (const detach of mine.values()) detach();
        mine.clear();
      });
    }
    return m;
  };
  return rpcMethods<ConsoleRpc>({
    'console.attach': (p, ctx) => {
      const mine = of(ctx);
      if (mine.has(p.domid)) throw new XenemuError('EBUSY', `this connection is already attached to domain ${p.domid}'s console`);
      const domain = machine.hv.domains.get(p.domid);
      if (domain === undefined) throw new XenemuError('ESRCH', `domain ${p.domid} does not exist`);
      if ((p.num ?? 0) !== 0) throw new XenemuError('ENODEV', `domain ${p.domid} has no console ${p.num}: xenemu emulates each domain's primary console (number 0) only`);
      const client: ConsoleClient = {
        output: (chunk) => ctx.send(CONSOLE_OUTPUT_EVENT, { domid: p.domid, data: chunk.toString('base64') } satisfies ConsoleOutputEvent),
        gone: (reason) => {
          mine.delete(p.domid);
          ctx.send(CONSOLE_GONE_EVENT, { domid: p.domid, reason } satisfies ConsoleGoneEvent);
        },
      };
      const detach = machine.consoles.attachClient(p.domid, client);
      ctx.onDrain(() => machine.consoles.clientCaughtUp(p.domid, client));
      mine.set(p.domid, detach);
      return { domid: p.domid, name: domain.name };
    },
    'console.input': (p, ctx) => {
      if (!of(ctx).has(p.domid)) throw new XenemuError('ENOENT', `this connection is not attached to domain ${p.domid}'s console: call console.attach first`);
      return { taken: machine.consoles.input(p.domid, Buffer.from(p.data, 'base64')) };
    },
    'console.detach': (p, ctx) => {
      const mine = of(ctx);
      mine.get(p.domid)?.();
      mine.delete(p.domid);
      return {};
    },
  });
}
