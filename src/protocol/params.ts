import * as z from 'zod';
import { PAYLOAD_MAX } from './xs-wire.js';

/**
 * Parameter types several control methods share. Each method's parameters are a zod
 * schema next to its types (DomainParams, EvtchnParams, StatsParams, HostParams); the
 * daemon checks every request against its method's before the method runs.
 */

/**
 * A domain by id or name, as xl takes both. A lookup: any text that could be a name is
 * looked up, and what matches no domain is ESRCH, as xl says of it; nothing longer
 * than a XenStore value (~/name) can name a domain.
 */
export const DomainRef = z.string().max(PAYLOAD_MAX);

/** A domid as xl reads one (an unsigned 32-bit number). */
export const Domid = z.int().min(0).max(0xffffffff);

/** Parameters of a method that takes none. */
export const NoParams = z.strictObject({});
