import type { Clock } from '../hypervisor/clock.js';
import { decodeVdev } from '../toolstack/config/vdev.js';
import type { ActiveFault, FaultRegistry } from './registry.js';

/** What blkback asks before it serves a request: the disk faults' side it sees. */
export interface BlkFaults {
  /** Whether any disk fault is in force (else nothing more is asked). */
  armed(): boolean;
  /** Whether this request is answered BLKIF_RSP_ERROR without touching the disk (disk-error). */
  fails(frontDomid: number, devid: number, sector: number, sectors: number): boolean;
  /** How much longer this disk's next I/O takes, in ms (disk-slow); 0 when it is not slowed. */
  delayMs(frontDomid: number, devid: number): number;
}

/** The machine's side of backend-die: every backend serving the domain's disk(s) fails. */
export interface DiskFaultHost {
  /** Make the backends of domain `domid`'s disk `devid` (every disk, with null) fail; how many did. */
  killBackends(domid: number, devid: number | null, why: string): number;
}

/** A fault's --vdev as a device number, or null for every disk. */
function devidOf(fault: ActiveFault): number | null {
  const vdev = fault.spec.options.vdev;
  return vdev === undefined ? null : (decodeVdev(vdev)?.devid ?? -1);
}

/**
 * The disk fault kinds, as blkback meets them: disk-error (requests answered
 * BLKIF_RSP_ERROR, for a range of sectors or a share of requests), disk-slow (each
 * request held for a while before it goes to the image), backend-die (the backend
 * fails as a real one does: an error node and Closing, so blkfront sees its disk go).
 */
export class DiskFaults implements BlkFaults {
  constructor(
    private readonly registry: FaultRegistry,
    clock: Clock,
    host: DiskFaultHost,
  ) {
    registry.handle('backend-die', {
      // After the add is answered, so `fault add` reports the fault before its effect.
      added: (fault) =>
        void clock.after(0, () => {
          const n = host.killBackends(fault.domid!, devidOf(fault), `xenemu fault ${fault.id}: backend-die`);
          registry.fired(fault, `${n} backend${n === 1 ? '' : 's'} of domain ${fault.domid}'s ${fault.spec.options.vdev ?? 'disks'} died`);
        }),
    });
  }

  armed(): boolean {
    return this.registry.has('disk-error') || this.registry.has('disk-slow');
  }

  fails(frontDomid: number, devid: number, sector: number, sectors: number): boolean {
    if (!this.registry.has('disk-error')) return false;
    const hit = this.registry.fire(
      'disk-error',
      (f) => {
        if (f.domid !== frontDomid) return false;
        const want = devidOf(f);
        if (want !== null && want !== devid) return false;
        const range = f.spec.options.sectors;
        if (range === undefined) return true;
        const [start, end] = range.split('-').map(Number) as [number, number];
        return sector <= end && sector + Math.max(1, sectors) - 1 >= start;
      },
      () => `domain ${frontDomid} disk ${devid}: sectors ${sector}+${sectors} answered BLKIF_RSP_ERROR`,
    );
    return hit !== null;
  }

  delayMs(frontDomid: number, devid: number): number {
    if (!this.registry.has('disk-slow')) return 0;
    const hit = this.registry.fire(
      'disk-slow',
      (f) => f.domid === frontDomid && (devidOf(f) === null || devidOf(f) === devid),
      (f) => `domain ${frontDomid} disk ${devid}: I/O held ${f.spec.options.delayMs} ms`,
    );
    return hit?.spec.options.delayMs ?? 0;
  }
}
