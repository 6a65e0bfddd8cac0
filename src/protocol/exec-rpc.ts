import * as z from 'zod';
import { DomainRef } from './params.js';

/**
 * Control-socket method of `xenemu exec` and `xenemu xenstore ... --domain`: the unix
 * socket on which a domain's kernel serves its xenbus device (/dev/xen/xenbus), so
 * that XenStore clients pointed at it (XENSTORED_PATH) talk to xenstored through that
 * guest's ring, as that domain.
 */
export const ExecParams = {
  'domain.xenbusSocket': z.strictObject({ ref: DomainRef }),
} satisfies Record<string, z.ZodType>;

interface ExecResults {
  'domain.xenbusSocket': { domid: number; name: string; socket: string };
}

export type ExecMethod = keyof typeof ExecParams;

export type ExecRpc = { [M in ExecMethod]: { params: z.output<(typeof ExecParams)[M]>; result: ExecResults[M] } };
