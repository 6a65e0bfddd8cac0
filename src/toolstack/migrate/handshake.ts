/**
 * The messages xl's migration sender and receiver exchange around the stream
 * (tools/xl/xl.h, xl_migrate.c), byte for byte: the receiver's banner goes without its
 * NUL (sizeof - 1), the three others with it (sizeof), and the receiver's report is
 * followed by one status byte (0, or -rc of the libxl error code).
 */

import { XenemuError } from '../../common/errors.js';

export const MIGRATE_RECEIVER_BANNER = Buffer.from('xl migration receiver ready, send binary domain data.\n', 'latin1');
export const MIGRATE_RECEIVER_READY = Buffer.from('domain received, ready to unpause\0', 'latin1');
export const MIGRATE_PERMISSION_TO_GO = Buffer.from('domain is yours, you are cleared to unpause\0', 'latin1');
export const MIGRATE_REPORT = Buffer.from('my copy unpause results are as follows\0', 'latin1');

/** libxl's error codes the receiver reports (libxl_types.idl): the status byte is their negation. */
export const ERROR_FAIL = -3;
export const ERROR_INVAL = -6;

/** Exact reads from the peer (the save stream's ByteSource is one). */
export interface ByteReader {
  offset: number;
  read(n: number, what: string, at: number): Promise<Buffer>;
}

/** The handshake went wrong: the peer said something else, or went away. Its message is xl's. */
export class MigrationError extends XenemuError {
  constructor(message: string) {
    super('EIO', message);
  }
}

/**
 * migrate_read_fixedmessage: exactly `msg`, or a MigrationError with xl's wording
 * ("... contained unexpected data instead of <what>", or the read's own failure).
 * `rune` is the command the sender ran (the receiver has none).
 */
export async function readFixedMessage(src: ByteReader, msg: Uint8Array, what: string, rune: string | null): Promise<void> {
  const stream = rune !== null ? 'migration receiver stream' : 'migration stream';
  let got: Buffer;
  try {
    got = await src.read(msg.length, what, src.offset);
  } catch (err) {
    // libxl_read_exactly's messages: the stream ended first, or the read failed.
    const short = /truncated/.test((err as Error).message);
    throw new MigrationError(short ? `file/stream truncated reading ${what} from ${stream}` : `failed to read ${what} from ${stream}: ${(err as Error).message}`);
  }
  if (!got.equals(msg)) {
    throw new MigrationError(`${stream} contained unexpected data instead of ${what}${rune !== null ? `\n(command run was: ${rune} )` : ''}`);
  }
}
