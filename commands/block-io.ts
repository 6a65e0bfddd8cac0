import { Args, Flags } from '@oclif/core';
import { resolve } from 'node:path';
import { XenemuCommand } from '../src/cli/base-command.js';
import { blkCall } from '../src/client/blk.js';
import { parseByteSize } from '../src/common/byte-size.js';
import { formatBlockIo } from '../src/ui/block-io.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';
import { blockIoJson } from '../src/ui/json/views.js';

export default class BlockIo extends XenemuCommand {
  static override summary = "Run I/O inside a guest on one of its disks, through blkfront, the ring and the backend";
  static override description = `Drives DOM's disk VDEV (xvda, hdc, or its virtual-device number) from inside the guest, through the guest's block layer and blkfront, the shared ring and the grants, to blkback and the image file, and prints what it did: bytes, MB/s, IOPS and per-block latency percentiles.

read reads the range (and with --to FILE writes it to FILE on the host); write writes the pattern (or --from FILE's bytes); verify reads the range and compares it with the pattern (or --from FILE); copy copies the range to the same offset of another disk of the guest (--dest VDEV).

The default pattern, offset, puts each 8-byte word's own disk offset in it, so a verify after a write finds any block that landed in the wrong place. Sizes take k, m, g, t (binary) or s (512-byte sectors).`;
  static override examples = [
    '<%= config.bin %> block-io web xvda write --length 8m --bs 128k --qd 8 --flush',
    '<%= config.bin %> block-io web xvda verify --length 8m',
    '<%= config.bin %> block-io web xvda read --offset 1m --length 4k --to /tmp/sector.bin',
    '<%= config.bin %> block-io web xvda write --from ./boot.img --flush',
    '<%= config.bin %> block-io web xvda copy --dest xvdb --length 64m --bs 1m --qd 4',
    '<%= config.bin %> block-io web xvda read --length 100m --bs 4k --qd 32 --random --json',
  ];
  static override enableJsonFlag = true;
  static override args = {
    dom: Args.string({ description: 'domain id or name', required: true }),
    vdev: Args.string({ description: 'the guest\'s disk: xvda, hdc, sdb, or its virtual-device number', required: true }),
    op: Args.string({ description: 'what to do', required: true, options: ['read', 'write', 'verify', 'copy'] }),
  };
  static override flags = {
    offset: Flags.string({ description: 'byte offset on the disk', default: '0' }),
    length: Flags.string({ description: 'bytes to move (default: to the end of the disk, or the --from file\'s length)' }),
    bs: Flags.string({ description: 'block size: the unit of each I/O', default: '64k' }),
    qd: Flags.integer({ description: 'queue depth: blocks in flight at once', default: 1, min: 1, max: 1024 }),
    pattern: Flags.string({ description: 'data written and verified', options: ['offset', 'random', 'zero'], default: 'offset' }),
    seed: Flags.integer({ description: 'seed of the random pattern', default: 1, min: 0 }),
    from: Flags.string({ description: 'write or verify this host file\'s bytes instead of a pattern' }),
    to: Flags.string({ description: 'read: write the bytes read to this host file' }),
    dest: Flags.string({ description: 'copy: the destination disk' }),
    random: Flags.boolean({ description: 'blocks in a random order (seeded by --seed), each once', default: false }),
    flush: Flags.boolean({ description: 'a cache flush at the end (write, copy): the data is on stable storage when it returns', default: false }),
  };

  async run(): Promise<JsonOutput<'block-io'>> {
    const { args, flags } = await this.parse(BlockIo);
    const r = await blkCall(this.paths, 'block.io', {
      ref: args.dom,
      vdev: args.vdev,
      op: args.op as 'read' | 'write' | 'verify' | 'copy',
      offset: parseByteSize(flags.offset, '--offset'),
      ...(flags.length !== undefined ? { length: parseByteSize(flags.length, '--length') } : {}),
      blockSize: parseByteSize(flags.bs, '--bs'),
      queueDepth: flags.qd,
      pattern: flags.pattern as 'offset' | 'random' | 'zero',
      seed: flags.seed,
      ...(flags.from !== undefined ? { from: resolve(flags.from) } : {}),
      ...(flags.to !== undefined ? { to: resolve(flags.to) } : {}),
      ...(flags.dest !== undefined ? { dest: flags.dest } : {}),
      flush: flags.flush,
      random: flags.random,
    });
    this.log(formatBlockIo(r));
    return blockIoJson(r);
  }
}
