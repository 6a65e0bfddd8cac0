import type * as z from 'zod';
import { BlkParams } from './blk-rpc.js';
import { ConsoleParams } from './console-rpc.js';
import { DeviceParams } from './device-rpc.js';
import { DomainParams } from './domain-rpc.js';
import { EvtchnParams } from './evtchn-rpc.js';
import { ExecParams } from './exec-rpc.js';
import { HostParams } from './host-rpc.js';
import { StatsParams } from './stats.js';
import { NetParams } from './net-rpc.js';
import { XenbusParams } from './xenbus-rpc.js';
import { FaultParams } from './fault-rpc.js';
import { MigrateParams } from './migrate-rpc.js';
import { SaveRestoreParams } from './saverestore-rpc.js';
import { SchedParams } from './sched-rpc.js';

/**
 * Every control method the daemon serves, with the schema of its parameters. The
 * daemon serves these and nothing else, and checks each request's parameters against
 * its method's before the method runs. Not imported by the CLI (it loads every schema).
 */
export const RPC_PARAMS: Readonly<Record<string, z.ZodType>> = { ...HostParams, ...DomainParams, ...DeviceParams, ...EvtchnParams, ...StatsParams, ...BlkParams, ...XenbusParams, ...NetParams, ...ConsoleParams, ...FaultParams, ...ExecParams, ...SaveRestoreParams, ...MigrateParams, ...SchedParams };
