import test from 'ava';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { BalloonDriver } from '../../src/kernel/balloon/balloon.js';
import { engineTransport } from '../../src/kernel/engine-transport.js';
import { KernelLog } from '../../src/kernel/kernel-log.js';
import { PageAllocator } from '../../src/kernel/mm/page-allocator.js';
import { XenstoreChildren } from '../../src/kernel/xenbus/xenstore-children.js';
import { XsClient } from '../../src/protocol/xs-client.js';
import { XenStored } from '../../src/xenstore/xenstored.js';
import { until } from '../helpers/machine.js';

/** Xen's side of the balloon: a reservation count, and the frames given back. */
function fakeXen(reservation: number, max: number) {
  const xen = {
    reservation,
    given: [] as number[][],
    decreaseReservation(gfns: readonly number[]) {
      xen.given.push([...gfns]);
      xen.reservation -= gfns.length;
      return gfns.length;
    },
    populatePhysmap(count: number) {
      const n = Math.min(count, max - xen.reservation);
      xen.reservation += n;
      return n;
    },
  };
  return xen;
}

test('the balloon gives back frames the page allocator handed it, never one the kernel holds, and returns them when Xen gives memory back', async (t) => {
  const xs = new XsClient(engineTransport(new XenStored()));
  const log = new KernelLog(new VirtualClock());
  const xen = fakeXen(16, 24);
  const pages = new PageAllocator(4, 16, [15]);
  const kernelPage = pages.alloc(); // the kernel's own (a vcpu_info page, say)
  const children = new XenstoreChildren(xs, log);
  await children.add(new BalloonDriver(xen, log, () => xen.reservation, pages, 16));
  const freeAtStart = pages.free;

  await xs.write('memory/target', String(12 * 4)); // 12 pages: give 4 back
  await until(() => xen.reservation === 12, 'balloon down');
  t.deepEqual(xen.given, [[5, 6, 7, 8]]);
  t.false(xen.given.flat().includes(kernelPage));
  t.is(pages.free, freeAtStart - 4);

  await xs.write('memory/target', String(20 * 4)); // 20: the 4 back, then 4 above the boot size
  await until(() => xen.reservation === 20, 'balloon up');
  t.is(pages.free, freeAtStart + 4);
  t.deepEqual(pages.allocMany(pages.free).sort((a, b) => a - b), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19]);
  t.true(log.lines.some((l) => l.includes('xen:balloon: target 80 KiB, now 80 KiB')));
});
