import * as z from 'zod';
import { Domid } from './params.js';

/**
 * Control-socket methods of `xenemu console`. `console.attach` makes the connection the
 * domain's console client: the daemon then pushes `console.output` events (the guest's
 * output, in order, never dropped once sent: see RpcContext.send) and one
 * `console.gone` when the console ends with its domain; `console.input` sends
 * keystrokes. Closing the connection (or `console.detach`) lets the console go.
 * Errors: ESRCH (no such domain, or no console), EBUSY (another client is attached),
 * ENODEV (a console xenemu does not emulate: -n other than 0).
 */

/** Bytes on the wire: base64 (console output is mostly text, but any byte may come). */
const Base64 = z.string().max(256 * 1024).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

export const ConsoleParams = {
  'console.attach': z.strictObject({
    domid: Domid,
    /** xl's -n: the console number; only the primary console (0) is emulated. */
    num: z.int().min(0).max(0xffffffff).optional(),
  }),
  'console.input': z.strictObject({ domid: Domid, data: Base64 }),
  'console.detach': z.strictObject({ domid: Domid }),
} satisfies Record<string, z.ZodType>;

/** The event the daemon pushes with each piece of output. */
export const CONSOLE_OUTPUT_EVENT = 'console.output';
/** The event that ends an attached console: its domain went away (or the daemon stops). */
export const CONSOLE_GONE_EVENT = 'console.gone';

export interface ConsoleOutputEvent {
  domid: number;
  /** base64 */
  data: string;
}

export interface ConsoleGoneEvent {
  domid: number;
  reason: string;
}

type P<M extends keyof typeof ConsoleParams> = z.output<(typeof ConsoleParams)[M]>;

export type ConsoleRpc = {
  'console.attach': { params: P<'console.attach'>; result: { domid: number; name: string } };
  /** `taken`: the bytes that fit (the rest was dropped: the guest is not reading). */
  'console.input': { params: P<'console.input'>; result: { taken: number } };
  'console.detach': { params: P<'console.detach'>; result: Record<string, never> };
};
