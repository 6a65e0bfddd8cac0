import type * as z from 'zod';
import { NoParams } from './params.js';

/** The daemon's own methods: liveness, status and stop. None takes parameters. */
export const HostParams = {
  ping: NoParams,
  'host.status': NoParams,
  'host.stop': NoParams,
} satisfies Record<string, z.ZodType>;
