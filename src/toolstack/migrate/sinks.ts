/**
 * ChunkSinks (stream-writer.ts) for where a save stream goes: a file (one writev per
 * record) or any Writable, a pipe or socket (corked per record so it goes as one
 * writev, held back while the Writable's buffer is full).
 */

import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { joined } from './joined.js';
import type { ChunkSink } from './stream-writer.js';

export function fileSink(fh: FileHandle): ChunkSink {
  return async (pieces) => {
    let left = pieces.reduce((n, p) => n + p.length, 0);
    const rest = joined(pieces);
    // writev may write less than asked (a signal, a full disk's last bytes): go on from there.
    while (left > 0) {
      const { bytesWritten } = await fh.writev(rest);
      left -= bytesWritten;
      let skip = bytesWritten;
      while (skip > 0 && rest.length > 0 && rest[0]!.length <= skip) skip -= rest.shift()!.length;
      if (skip > 0) rest[0] = rest[0]!.subarray(skip);
    }
  };
}

export function writableSink(w: Writable): ChunkSink {
  return async (pieces) => {
    w.cork();
    let ok = true;
    for (const p of joined(pieces)) ok = w.write(p);
    w.uncork();
    if (!ok && !w.destroyed) {
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error): void => {
          w.off('drain', onDrain);
          w.off('error', done);
          w.off('close', onClose);
          if (err) reject(err);
          else resolve();
        };
        const onDrain = (): void => done();
        const onClose = (): void => done(new Error('the stream closed while the save was being written'));
        w.on('drain', onDrain).on('error', done).on('close', onClose);
      });
    }
  };
}
