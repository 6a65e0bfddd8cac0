import { readv, writev } from 'node:fs';

/**
 * Raw file I/O as the block benchmarks' reference: `blocks` calls of `blockSize` bytes
 * on `fd`, one worker per buffer (so `bufs.length` calls in flight), each taking the
 * next block in turn, in `order` if given (block numbers), else sequentially. Through
 * the callback preadv/pwritev, as blkback's store calls them: cheaper per call than
 * FileHandle's promises.
 */
export async function rawIo(fd: number, op: 'read' | 'write', bufs: readonly Uint8Array[], blockSize: number, blocks: number, order: Uint32Array | null = null): Promise<void> {
  const call = op === 'read' ? readv : writev;
  let next = 0;
  await Promise.all(
    bufs.map(async (buf) => {
      while (next < blocks) {
        const b = order === null ? next : order[next]!;
        next++;
        await new Promise<number>((resolve, reject) => call(fd, [buf], b * blockSize, (err, n) => (err === null ? resolve(n) : reject(err))));
      }
    }),
  );
}
