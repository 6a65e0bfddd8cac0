/**
 * Virtual disk names → the vbd device number written to xenstore, as
 * xen-vbd-interface(7) specifies and libxl__device_disk_dev_number() (libxl_device.c)
 * implements:
 *
 *     1 << 28 | disk << 8 | partition      xvd, disks or partitions 16 onwards
 *   202 << 8  | disk << 4 | partition      xvd, disks and partitions up to 15
 *     8 << 8  | disk << 4 | partition      sd, disks and partitions up to 15
 *     3 << 8  | disk << 6 | partition      hd, disks 0..1, partitions 0..63
 *    22 << 8  | (disk-2) << 6 | partition  hd, disks 2..3, partitions 0..63
 *
 * plus `dNpM` (a Xen virtual disk by number) and a bare number (hex, decimal or octal),
 * which is written to xenstore as it is.
 */

import { strtol } from '../../common/c-number.js';

export interface VdevInfo {
  devid: number;
  /** Disk and partition numbers, when the name says them (not for a bare number). */
  disk?: number;
  partition?: number;
}

/**
 * `xvd`/`hd`/`sd` + drive letters + optional partition. The letters count like
 * spreadsheet columns (a..z, aa..az, ...): libxl decodes them as "base 26 with
 * a-z digits, more or less", so xvdtq is disk 536.
 */
function matchLetters(vdev: string, prefix: string, maxDisk: number, maxPartition: number): { disk: number; partition: number } | undefined {
  if (!vdev.startsWith(prefix)) return undefined;
  let p = prefix.length;
  let index = -1;
  while (p < vdev.length) {
    const c = vdev.charCodeAt(p);
    if (c < 97 || c > 122) break;
    index = (index + 1) * 26 + (c - 97);
    if (index > maxDisk) return undefined;
    p++;
  }
  // libxl accepts a prefix with no letters at all as disk -1; nothing sane means that.
  if (index < 0) return undefined;
  if (p === vdev.length) return { disk: index, partition: 0 };
  // Leading zeroes are not permitted in the partition number.
  if (vdev[p] === '0' || !/^[0-9]+$/.test(vdev.slice(p))) return undefined;
  const partition = Number(vdev.slice(p));
  if (partition > maxPartition) return undefined;
  return { disk: index, partition };
}

/** sscanf's %i: decimal, 0x hex or 0-led octal, at `from`; returns the number and where it ends. */
function scanInt(s: string, from: number): { value: number; end: number } | undefined {
  const rest = s.slice(from);
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(rest);
  if (!m) return undefined;
  const text = m[1]!;
  const r = strtol(text, 0);
  if (r.value > 0x7fffffffn) return undefined;
  return { value: Number(r.value), end: from + text.length };
}

function xvdNumber(disk: number, partition: number): number {
  if (disk <= 15 && partition <= 15) return (202 << 8) | (disk << 4) | partition;
  return ((1 << 28) | (disk << 8) | partition) >>> 0;
}

/** Decode a vdev, or undefined when libxl would reject it. */
export function decodeVdev(vdev: string): VdevInfo | undefined {
  // dNpM: a Xen virtual disk by number (`d0` alone is not accepted by libxl 4.17,
  // although xen-vbd-interface(7) lists it: the sscanf needs both numbers).
  if (vdev.startsWith('d')) {
    const disk = scanInt(vdev, 1);
    if (disk && vdev[disk.end] === 'p') {
      const part = scanInt(vdev, disk.end + 1);
      if (part && part.end === vdev.length && disk.value < 1 << 20 && part.value < 256) {
        return { devid: xvdNumber(disk.value, part.value), disk: disk.value, partition: part.value };
      }
    }
  }
  const xvd = matchLetters(vdev, 'xvd', (1 << 20) - 1, 255);
  if (xvd) return { devid: xvdNumber(xvd.disk, xvd.partition), ...xvd };
  // A bare number is written to xenstore as it is (strtoul base 0, at most INT_MAX).
  if (/^[0-9]/.test(vdev)) {
    const r = strtol(vdev, 0);
    if (r.end === vdev.length && r.value <= 0x7fffffffn) return { devid: Number(r.value) };
    return undefined;
  }
  const hd = matchLetters(vdev, 'hd', 3, 63);
  if (hd) return { devid: (((hd.disk < 2 ? 3 : 22) << 8) | ((hd.disk & 1) << 6) | hd.partition) >>> 0, ...hd };
  const sd = matchLetters(vdev, 'sd', 15, 15);
  if (sd) return { devid: (8 << 8) | (sd.disk << 4) | sd.partition, ...sd };
  return undefined;
}

/** Why a vdev is not accepted, with the forms that are. */
export function vdevProblem(vdev: string): string {
  return (
    `"${vdev}" is not a virtual disk name: use xvdX[N] (xvda, xvdb2, xvdaa), hdX[N] (hda..hdd, partitions up to 63), ` +
    `sdX[N] (sda..sdp, partitions up to 15), dNpM (d0p0), or a device number`
  );
}

/**
 * The xenstore device number of a virtual disk name: xvda → 51712, xvdb → 51728,
 * hda → 768, sda → 2048, xvdq → 268439552 (disks from 16 use the 1<<28 form),
 * d536p37 → 268572709. Throws RangeError for a name libxl rejects.
 */
export function vdevToDevid(vdev: string): number {
  const info = decodeVdev(vdev);
  if (!info) throw new RangeError(vdevProblem(vdev));
  return info.devid;
}
