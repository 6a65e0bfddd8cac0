import * as z from 'zod';
import { MAX_NAME_LENGTH } from '../toolstack/config/schema.js';

/**
 * Parameter types several control methods share. Each method's parameters are a zod
 * schema next to its types (DomainParams, EvtchnParams, StatsParams, HostParams); the
 * daemon checks every request against its method's before the method runs.
 */

/** A domain by id or name, as xl takes both: a lookup, so anything short; what matches no domain is ESRCH. */
export const DomainRef = z.string().max(MAX_NAME_LENGTH);

/** A domid as xl reads one (an unsigned 32-bit number). */
export const Domid = z.int().min(0).max(0xffffffff);

/** Parameters of a method that takes none. */
export const NoParams = z.strictObject({});
