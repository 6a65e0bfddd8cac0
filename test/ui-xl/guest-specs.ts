/**
 * The example domains of the `xl list -l` fixtures: Domain-0's stub and one PV, one
 * PVH and one HVM guest with disks and vifs, as xenemu would describe them.
 */
import { xlDom0DomainConfig, xlGuestDomainConfig } from '../../src/toolstack/libxl/defaults.js';
import type { XlListLongEntry } from '../../src/ui/xl/types.js';

export const GUEST_DOMAINS: readonly XlListLongEntry[] = [
  {
    domid: 0,
    config: xlDom0DomainConfig({ uuid: '00000000-0000-0000-0000-000000000000', targetMemKb: 1048576, maxMemKb: 4294967296 }),
  },
  {
    domid: 1,
    config: xlGuestDomainConfig({
      type: 'pv',
      name: 'web',
      uuid: '6f1c8a52-3b1e-4c44-9d0a-2f7e5b9c1d20',
      maxVcpus: 2,
      onlineVcpus: [0, 1],
      maxMemKb: 524288,
      targetMemKb: 524288,
      kernel: '/boot/vmlinuz-6.1.0-18-amd64',
      ramdisk: '/boot/initrd.img-6.1.0-18-amd64',
      cmdline: 'root=/dev/xvda1 ro console=hvc0',
      disks: [
        { pdev_path: '/dev/vg0/web-root', vdev: 'xvda', readwrite: true },
        { pdev_path: '/srv/images/data.img', vdev: 'xvdb', readwrite: true, backend: 'qdisk' },
      ],
      nics: [{ devid: 0, mac: '00:16:3e:5a:01:02', bridge: 'xenbr0' }],
    }),
  },
  {
    domid: 2,
    config: xlGuestDomainConfig({
      type: 'pvh',
      name: 'builder',
      uuid: 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d',
      maxVcpus: 4,
      onlineVcpus: [0, 1],
      maxMemKb: 2097152,
      targetMemKb: 1048576,
      kernel: '/var/lib/xen/boot/vmlinuz',
      cmdline: 'console=hvc0',
      onReboot: 'destroy',
      disks: [{ pdev_path: '/dev/vg0/builder', vdev: 'xvda', readwrite: true }],
      nics: [
        { devid: 0, mac: '00:16:3e:00:00:10', bridge: 'xenbr1', ip: '192.0.2.10' },
        { devid: 1, mac: '00:16:3e:00:00:11', vifname: 'builder-int', rate_bytes_per_interval: 62500, rate_interval_usecs: 50000 },
      ],
    }),
  },
  {
    domid: 3,
    config: xlGuestDomainConfig({
      type: 'hvm',
      name: 'win',
      uuid: 'f7e6d5c4-b3a2-4918-8776-655443322110',
      maxVcpus: 2,
      onlineVcpus: [0, 1],
      maxMemKb: 4194304,
      targetMemKb: 4194304 - 8192,
      disks: [
        { pdev_path: '/dev/vg0/win', vdev: 'hda', readwrite: true },
        { pdev_path: '/srv/iso/install.iso', vdev: 'hdc', readwrite: false, is_cdrom: true },
      ],
      nics: [{ devid: 0, mac: '00:16:3e:7f:00:01', model: 'e1000' }],
      sched: { sched: 'credit2', weight: 256, cap: 0 },
    }),
  },
];
