import { readFile, writeFile } from 'node:fs/promises';
import { XenemuError } from '../common/errors.js';
import { runBlockIo } from '../kernel/blk/block-io.js';
import type { BlockDevice } from '../kernel/blk/block-layer.js';
import type { Kernel } from '../kernel/kernel.js';
import type { BlkRpc } from '../protocol/blk-rpc.js';
import { bootedKernel } from './booted-kernel.js';
import { rpcMethods, type RpcMethod } from './control-server.js';
import type { Machine } from './machine.js';

/**
 * The daemon's side of `xenemu block-io`: it runs the guest's block-io program on the
 * guest's own block layer (so the I/O goes through blkfront, the ring, the grants and
 * the backend), reading `--from` and writing `--to` on the host for it.
 */
export function blkMethods(machine: Machine): Record<string, RpcMethod> {
  const running = (ref: string): { kernel: Kernel; domid: number; name: string } => {
    const d = machine.toolstack.find(ref);
    return { kernel: bootedKernel(machine, d), domid: d.domid, name: d.name };
  };
  const disk = (k: Kernel, domid: number, vdev: string): BlockDevice => {
    // A kernel still booting has no block layer yet: no disk either.
    const dev = k.blocks?.find(vdev);
    if (dev === undefined) {
      const have = (k.blocks?.list() ?? []).map((b) => b.name);
      throw new XenemuError('ENODEV', `domain ${domid} has no disk ${vdev} connected (it has ${have.length === 0 ? 'none' : have.join(', ')})`);
    }
    return dev;
  };
  return rpcMethods<BlkRpc>({
    'block.io': async (p) => {
      const { kernel, domid, name } = running(p.ref);
      const dev = disk(kernel, domid, p.vdev);
      let data: Uint8Array | undefined;
      if (p.from !== undefined) {
        if (p.op !== 'write' && p.op !== 'verify') throw new XenemuError('EINVAL', `--from is for write and verify, not ${p.op}`);
        const file = await readFile(p.from).catch((err: NodeJS.ErrnoException) => {
          throw new XenemuError(err.code ?? 'EIO', `cannot read ${p.from}: ${err.message}`);
        });
        data = p.length === undefined ? file : file.subarray(0, p.length);
        if (data.length < (p.length ?? 0)) throw new XenemuError('EINVAL', `${p.from} has ${file.length} bytes, fewer than the ${p.length} asked for`);
      }
      if (p.to !== undefined && p.op !== 'read') throw new XenemuError('EINVAL', `--to is for read, not ${p.op}`);
      if (p.op === 'copy' && p.dest === undefined) throw new XenemuError('EINVAL', 'copy needs a destination disk (--dest VDEV)');
      const dest = p.op === 'copy' ? disk(kernel, domid, p.dest!) : undefined;
      const length = data?.length ?? p.length ?? Math.max(0, dev.sizeBytes - p.offset);
      const out = await runBlockIo(
        dev,
        { op: p.op, offset: p.offset, length, blockSize: p.blockSize, queueDepth: p.queueDepth, pattern: p.pattern, seed: p.seed, flush: p.flush, random: p.random === true, keepData: p.to !== undefined, ...(data !== undefined ? { data } : {}), ...(dest !== undefined ? { dest } : {}) },
        kernel.clock,
      );
      if (p.to !== undefined && out.data !== undefined) {
        await writeFile(p.to, out.data).catch((err: NodeJS.ErrnoException) => {
          throw new XenemuError(err.code ?? 'EIO', `cannot write ${p.to}: ${err.message}`);
        });
      }
      return { ...out.summary, domid, name, ...(p.to !== undefined ? { to: p.to } : {}) };
    },
  });
}
