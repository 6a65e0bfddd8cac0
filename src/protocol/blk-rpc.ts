import * as z from 'zod';
import type { BlockIoSummary } from '../kernel/blk/block-io.js';
import { DomainRef } from './params.js';

/**
 * Control-socket methods of the block devices: `block.io` runs the guest's block-io
 * program on one of its disks. Errors carry the errno name of the layer that refused:
 * the daemon's (ESRCH for a domain, ENODEV for a disk the guest does not have, EAGAIN
 * for a kernel not booted) or the guest block layer's (EINVAL, ENOSPC, EROFS, EIO).
 */

/** A disk as the guest names it (xvda, hdc) or its virtual-device number. */
const Vdev = z.string().min(1).max(32);
/** Host paths the daemon reads (--from) or writes (--to); the CLI makes them absolute. */
const HostPath = z.string().min(1).max(4096);
/** Offsets and lengths in bytes: up to 2^53 (a disk image of petabytes). */
const Bytes = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

export const BlkParams = {
  'block.io': z.strictObject({
    ref: DomainRef,
    vdev: Vdev,
    op: z.enum(['read', 'write', 'verify', 'copy']),
    offset: Bytes,
    /** Bytes to move; absent: to the end of the disk (or the --from file's length). */
    length: Bytes.optional(),
    blockSize: z.int().min(512).max(64 * 1024 * 1024),
    queueDepth: z.int().min(1).max(1024),
    pattern: z.enum(['zero', 'offset', 'random']),
    seed: z.int().min(0).max(0xffffffff),
    from: HostPath.optional(),
    to: HostPath.optional(),
    /** copy: the destination disk. */
    dest: Vdev.optional(),
    flush: z.boolean(),
    /** Blocks in a random order (seeded by `seed`). */
    random: z.boolean().optional(),
  }),
} satisfies Record<string, z.ZodType>;

/** What `block.io` answers: the program's summary, plus the domain and where --to went. */
export interface BlockIoResult extends BlockIoSummary {
  domid: number;
  name: string;
  to?: string;
}

export type BlkMethod = keyof typeof BlkParams;

export type BlkRpc = { 'block.io': { params: z.output<(typeof BlkParams)['block.io']>; result: BlockIoResult } };
