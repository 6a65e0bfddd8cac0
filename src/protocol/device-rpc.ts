import * as z from 'zod';
import { DiskSpecField, VifSpecField } from '../toolstack/config/index.js';
import type { VbdInfo } from '../toolstack/devices/vbd.js';
import type { NicInfo } from '../toolstack/devices/vif.js';
import { DomainRef } from './params.js';

/**
 * The control methods of the device commands (block-attach, block-detach,
 * block-list, cd-insert, cd-eject, network-attach, network-detach, network-list). The CLI reads the DISKSPEC (so a bad one is reported against the
 * command line, and a relative target is the caller's), and sends the disk as a
 * mapping, which the daemon checks with the config's own disk rules.
 */
export const DeviceParams = {
  'block.attach': z.strictObject({ ref: DomainRef, disk: DiskSpecField }),
  /** VDEV: a virtual disk name or a device number, as xl block-detach takes it. */
  'block.detach': z.strictObject({ ref: DomainRef, vdev: z.string().max(256), force: z.boolean().default(false) }),
  'block.list': z.strictObject({ ref: DomainRef }),
  /**
   * xl cd-insert / cd-eject: VDEV names the cdrom drive as the guest's disk list has it;
   * TARGET is an absolute path (the CLI resolves a relative one), "" ejects.
   */
  'block.cdInsert': z.strictObject({ ref: DomainRef, vdev: z.string().max(256), target: z.string().max(4096) }),
  /** The VIFSPEC as a mapping (the CLI parses the spec); devid and mac default in the daemon. */
  'network.attach': z.strictObject({ ref: DomainRef, vif: VifSpecField }),
  /** DEVID or MAC, as xl network-detach takes it. */
  'network.detach': z.strictObject({ ref: DomainRef, dev: z.string().max(64) }),
  'network.list': z.strictObject({ ref: DomainRef }),
} satisfies Record<string, z.ZodType>;

interface DeviceResults {
  'block.attach': { devid: number };
  'block.detach': { devid: number };
  'block.list': VbdInfo[];
  'block.cdInsert': { devid: number };
  'network.attach': { devid: number; mac: string };
  'network.detach': { devid: number };
  'network.list': NicInfo[];
}

export type DeviceMethod = keyof typeof DeviceParams;

export type DeviceRpc = { [M in DeviceMethod]: { params: z.output<(typeof DeviceParams)[M]>; result: DeviceResults[M] } };
