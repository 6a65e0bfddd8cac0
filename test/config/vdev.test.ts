import test from 'ava';
import { decodeVdev, vdevToDevid } from '../../src/toolstack/config/vdev.js';

// xen-vbd-interface(7): "d0 d0p0 xvda / d1p2 xvdb2 / d536p37 xvdtq37 / sdb3 / hdc2",
// and the encodings of its table. Expected numbers worked out from the table:
const EXAMPLES: [string, number, string][] = [
  ['xvda', 51712, '202<<8: Xen virtual disk 0, whole disk'],
  ['d0p0', 51712, 'the dNpM spelling of xvda'],
  ['xvdb', 51728, '202<<8 | 1<<4'],
  ['xvdb2', 51730, 'Xen virtual disk 1 partition 2'],
  ['d1p2', 51730, 'the dNpM spelling of xvdb2'],
  ['xvdtq37', 268572709, 'Xen virtual disk 536 partition 37: 1<<28 | 536<<8 | 37'],
  ['d536p37', 268572709, 'the dNpM spelling of xvdtq37'],
  ['sdb3', 2067, 'SCSI disk 1 partition 3: 8<<8 | 1<<4 | 3'],
  ['hdc2', 5634, 'IDE disk 2 partition 2: 22<<8 | 0<<6 | 2'],
  ['hda', 768, '3<<8'],
  ['hdb', 832, '3<<8 | 1<<6'],
  ['hdd', 5696, '22<<8 | 1<<6'],
  ['sda', 2048, '8<<8'],
  ['xvdp15', 51967, 'disk 15 partition 15 still fits 202<<8'],
  ['xvdq', 268439552, 'disk 16 needs the 1<<28 form'],
  ['xvda16', 268435472, 'partition 16 needs the 1<<28 form'],
  ['xvdaa', 268442112, 'drive letters count on: aa is disk 26'],
  ['51712', 51712, 'a bare number is written as it is'],
  ['0xca00', 51712, 'in hex'],
  ['0145000', 51712, 'or octal'],
];

for (const [vdev, devid, why] of EXAMPLES) {
  test(`vdev ${vdev} is device ${devid} (${why})`, (t) => {
    t.is(vdevToDevid(vdev), devid);
  });
}

test('vdev decoding reports disk and partition numbers', (t) => {
  t.deepEqual(decodeVdev('xvdtq37'), { devid: 268572709, disk: 536, partition: 37 });
  t.deepEqual(decodeVdev('hdc2'), { devid: 5634, disk: 2, partition: 2 });
});

const REJECTED: [string, string][] = [
  ['d0', 'libxl 4.17 needs both numbers of dNpM (the man page lists d0, the sscanf refuses it)'],
  ['hde', 'IDE has disks 0..3'],
  ['hda64', 'IDE partitions end at 63'],
  ['sdq', 'SCSI has disks 0..15'],
  ['sda16', 'SCSI partitions end at 15'],
  ['xvda0', 'leading zeroes are not permitted in a partition number'],
  ['xvda256', 'xvd partitions end at 255'],
  ['xvd', 'no drive letter'],
  ['vda', 'not a Xen name'],
  ['', 'empty'],
  ['d1048576p0', 'disk numbers end at 2^20-1'],
  ['4294967295', 'numbers above INT_MAX'],
];

for (const [vdev, why] of REJECTED) {
  test(`vdev ${JSON.stringify(vdev)} is refused (${why})`, (t) => {
    t.is(decodeVdev(vdev), undefined);
    t.throws(() => vdevToDevid(vdev), { instanceOf: RangeError, message: /is not a virtual disk name/ });
  });
}
