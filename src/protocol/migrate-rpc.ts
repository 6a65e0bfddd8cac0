import * as z from 'zod';
import type { MigrationReport } from '../toolstack/migrate/sender.js';
import type { ReceiveResult } from '../toolstack/migrate/receiver.js';
import { DomainRef } from './params.js';

/**
 * Control-socket methods of `xenemu migrate` and `xenemu migrate-receive`. The stream
 * does not go over the control socket: the CLI listens on a unix socket of its own
 * (`channel`), joined to the pipes of the command that reaches the other host, and the
 * daemon connects to it and speaks xl's migration protocol there. The lines xl prints
 * on stderr come back as MIGRATE_MESSAGE_EVENT events, in order, before the answer.
 */

const SocketPath = z.string().min(1).max(107);

export const MigrateParams = {
  'domain.migrateSend': z.strictObject({
    ref: DomainRef,
    channel: SocketPath,
    /** The command run to reach the receiver, for xl's messages. */
    rune: z.string().max(64 * 1024),
    /** -C: send this config (an absolute path the daemon reads) instead of the domain's. */
    config: z.string().min(1).max(4096).optional(),
    /** --debug: libxc's verify pass after the last round. */
    debug: z.boolean().default(false),
  }),
  'domain.migrateReceive': z.strictObject({
    channel: SocketPath,
    /** -p: leave the domain paused once it is here. */
    paused: z.boolean().default(false),
  }),
} satisfies Record<string, z.ZodType>;

export const MIGRATE_MESSAGE_EVENT = 'migrate.message';
export interface MigrateMessageEvent {
  line: string;
}

interface MigrateResults {
  'domain.migrateSend': MigrationReport;
  'domain.migrateReceive': ReceiveResult;
}

export type MigrateMethod = keyof typeof MigrateParams;

export type MigrateRpc = { [M in MigrateMethod]: { params: z.output<(typeof MigrateParams)[M]>; result: MigrateResults[M] } };
