import type { Readable, Writable } from 'node:stream';
import { ByteSource } from './byte-source.js';
import { MigrationError } from './handshake.js';
import type { PeerChannel } from './sender.js';

/**
 * A migration's byte channel over a pair of streams (a socket both ways, or two
 * pipes): exact reads from `input`, writes to `output` that wait while it is full and
 * fail once it is broken. A peer that goes away is an answer (a failed write or a
 * short read), never an unhandled error.
 */
export function streamChannel(input: Readable, output: Writable): PeerChannel & { reader: ByteSource } {
  let broken: Error | null = null;
  output.on('error', (err) => (broken ??= err));
  output.on('close', () => (broken ??= new Error('the migration channel closed')));
  input.on('error', () => {});
  const write = (data: Uint8Array | readonly Uint8Array[]): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (broken !== null || !output.writable) {
        reject(new MigrationError(`writing the migration stream: ${broken?.message ?? 'the channel is closed'}`));
        return;
      }
      // A record's pieces (its header and 1024 pages) go out as one writev.
      const pieces = data instanceof Uint8Array ? [data] : data;
      output.cork();
      let room = true;
      for (const p of pieces) room = output.write(p);
      output.uncork();
      if (room) {
        resolve();
        return;
      }
      const done = (err?: Error): void => {
        output.off('drain', onDrain);
        output.off('close', onClose);
        if (err === undefined) resolve();
        else reject(new MigrationError(`writing the migration stream: ${err.message}`));
      };
      const onDrain = (): void => done();
      const onClose = (): void => done(broken ?? new Error('the migration channel closed'));
      output.once('drain', onDrain);
      output.once('close', onClose);
    });
  return {
    reader: new ByteSource(input),
    write,
    end: () => {
      if (!output.destroyed && !output.writableEnded) output.end();
    },
  };
}
