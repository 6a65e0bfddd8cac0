/**
 * The example domains of the `xl list -l` fixtures: Domain-0's stub and one PV, one
 * PVH and one HVM guest with disks and vifs, as xenemu would describe them: what xl's
 * parser builds from the config (the `create -n` form) plus what the create settled
 * and the live state (defaults.ts).
 */
import { xlDom0DomainConfig, xlGuestDomainConfig } from '../../src/toolstack/libxl/defaults.js';
import type { XlListLongEntry } from '../../src/toolstack/libxl/rows.js';

export const GUEST_DOMAINS: readonly XlListLongEntry[] = [
  {
    domid: 0,
    config: xlDom0DomainConfig({ uuid: '00000000-0000-0000-0000-000000000000', targetMemKb: 1048576, maxMemKb: 4294967296 }),
  },
  {
    domid: 1,
    config: xlGuestDomainConfig(
      {
        c_info: { type: 'pv', name: 'web' },
        b_info: {
          type: 'pv',
          max_vcpus: 2,
          max_memkb: 524288,
          kernel: '/boot/vmlinuz-6.1.0-18-amd64',
          ramdisk: '/boot/initrd.img-6.1.0-18-amd64',
          cmdline: 'root=/dev/xvda1 ro console=hvc0',
        },
        disks: [
          { pdev_path: '/dev/vg0/web-root', vdev: 'xvda', readwrite: 1 },
          { pdev_path: '/srv/images/data.img', vdev: 'xvdb', readwrite: 1, backend: 'qdisk' },
        ],
        nics: [{ devid: 0, mac: '00:16:3e:5a:01:02', bridge: 'xenbr0' }],
      },
      { name: 'web', uuid: '6f1c8a52-3b1e-4c44-9d0a-2f7e5b9c1d20', onlineVcpus: [0, 1], targetMemKb: 524288, maxMemKb: 524288, nicMacs: ['00:16:3e:5a:01:02'] },
    ),
  },
  {
    domid: 2,
    config: xlGuestDomainConfig(
      {
        c_info: { type: 'pvh', name: 'builder' },
        b_info: { type: 'pvh', max_vcpus: 4, max_memkb: 2097152, kernel: '/var/lib/xen/boot/vmlinuz', cmdline: 'console=hvc0' },
        on_reboot: 'destroy',
        disks: [{ pdev_path: '/dev/vg0/builder', vdev: 'xvda', readwrite: 1 }],
        nics: [
          { devid: 0, mac: '00:16:3e:00:00:10', bridge: 'xenbr1', ip: '192.0.2.10' },
          { devid: 1, mac: '00:16:3e:00:00:11', ifname: 'builder-int', rate_bytes_per_interval: 62500, rate_interval_usecs: 50000 },
        ],
      },
      { name: 'builder', uuid: 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d', onlineVcpus: [0, 1], targetMemKb: 1048576, maxMemKb: 2097152, nicMacs: ['00:16:3e:00:00:10', '00:16:3e:00:00:11'] },
    ),
  },
  {
    domid: 3,
    config: xlGuestDomainConfig(
      {
        c_info: { type: 'hvm', name: 'win' },
        b_info: { type: 'hvm', max_vcpus: 2, max_memkb: 4194304 },
        disks: [
          { pdev_path: '/dev/vg0/win', vdev: 'hda', readwrite: 1 },
          { pdev_path: '/srv/iso/install.iso', vdev: 'hdc', is_cdrom: 1, removable: 1 },
        ],
        nics: [{ devid: 0, mac: '00:16:3e:7f:00:01', model: 'e1000' }],
      },
      { name: 'win', uuid: 'f7e6d5c4-b3a2-4918-8776-655443322110', onlineVcpus: [0, 1], targetMemKb: 4194304 - 8192, maxMemKb: 4194304, sched: { sched: 'credit2', weight: 256, cap: 0 }, nicMacs: ['00:16:3e:7f:00:01'] },
    ),
  },
];
