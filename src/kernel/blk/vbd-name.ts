/**
 * The name a guest gives a disk from its `virtual-device` number, as Linux's
 * xen-blkfront does (xen_translate_vdev and xlbd_major_info; the numbering is
 * docs/man/xen-vbd-interface.7): xvd for the Xen major 202 and the extended form
 * (1 << 28 | disk << 8 | partition), hd for the IDE majors, sd for the SCSI disk
 * majors. Disks are lettered a..z, aa..zz, aaa.. (Linux's xlbd_alloc name scheme),
 * and a partition appends its number.
 */

const XENVBD_MAJOR = 202;
const EXTENDED = 1 << 28;
/** The IDE majors, two disks each (64 minors per disk). */
const IDE_MAJORS = [3, 22, 33, 34, 56, 57, 88, 89, 90, 91];
const SCSI_DISK0_MAJOR = 8;
/** SCSI_DISK1..7 are 65..71; SCSI_DISK8..15 are 128..135 (16 disks each, 16 minors per disk). */
const SCSI_DISK1_MAJOR = 65;
const SCSI_DISK8_MAJOR = 128;

export interface VbdName {
  /** xvda, hdc3, sdb. */
  name: string;
  /** The disk's index in its family (xvda = 0). */
  disk: number;
  partition: number;
}

/** Linux's disk letters: 0 → a, 25 → z, 26 → aa, 701 → zz, 702 → aaa. */
export function diskLetters(n: number): string {
  let s = '';
  for (let i = n + 1; i > 0; i = Math.floor((i - 1) / 26)) s = String.fromCharCode(97 + ((i - 1) % 26)) + s;
  return s;
}

/** The guest's name for virtual-device `vdev`, or undefined when no Linux major matches. */
export function vbdName(vdev: number): VbdName | undefined {
  if (!(Number.isInteger(vdev) && vdev >= 0)) return undefined;
  let prefix: string;
  let disk: number;
  let partition: number;
  if (vdev & EXTENDED) {
    if (vdev >= 2 * EXTENDED) return undefined;
    prefix = 'xvd';
    disk = (vdev & ~EXTENDED) >> 8;
    partition = vdev & 0xff;
  } else {
    const major = vdev >> 8;
    const minor = vdev & 0xff;
    const ide = IDE_MAJORS.indexOf(major);
    if (major === XENVBD_MAJOR) {
      prefix = 'xvd';
      disk = minor >> 4;
      partition = minor & 15;
    } else if (ide >= 0) {
      prefix = 'hd';
      disk = ide * 2 + (minor >> 6);
      partition = minor & 63;
    } else if (major === SCSI_DISK0_MAJOR || (major >= SCSI_DISK1_MAJOR && major < SCSI_DISK1_MAJOR + 7) || (major >= SCSI_DISK8_MAJOR && major < SCSI_DISK8_MAJOR + 8)) {
      const group = major === SCSI_DISK0_MAJOR ? 0 : major < SCSI_DISK8_MAJOR ? major - SCSI_DISK1_MAJOR + 1 : major - SCSI_DISK8_MAJOR + 8;
      prefix = 'sd';
      disk = group * 16 + (minor >> 4);
      partition = minor & 15;
    } else {
      return undefined;
    }
  }
  return { name: `${prefix}${diskLetters(disk)}${partition > 0 ? partition : ''}`, disk, partition };
}
