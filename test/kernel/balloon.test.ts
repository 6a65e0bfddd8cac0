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
  await children.add(new BalloonDriver(xen, log, () => xen.reservation, pages, 16, 0));
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

test('the balloon round-trips through a save: a loaded driver fills the frames it gave back first, then the ones above the boot size', async (t) => {
  const xs = new XsClient(engineTransport(new XenStored()));
  const log = new KernelLog(new VirtualClock());
  const xen = fakeXen(16, 24);
  const pages = new PageAllocator(4, 16, [15]);
  const balloon = new BalloonDriver(xen, log, () => xen.reservation, pages, 16, 0);
  const children = new XenstoreChildren(xs, log);
  await children.add(balloon);
  await xs.write('memory/target', String(12 * 4));
  await until(() => xen.reservation === 12, 'balloon down');
  const saved = JSON.parse(JSON.stringify({ balloon: balloon.save(), pages: pages.save() })) as { balloon: ReturnType<BalloonDriver['save']>; pages: ReturnType<PageAllocator['save']> };
  t.deepEqual(saved.balloon, { targetPages: 12, ballooned: [4, 5, 6, 7], nextNewGfn: 16 });
  await children.detachAll();

  // A fresh kernel's allocator and driver, loaded from the save, on the same store.
  const pages2 = new PageAllocator(0, 1, []);
  pages2.load(saved.pages);
  const balloon2 = new BalloonDriver(xen, log, () => xen.reservation, pages2, 0, 0);
  balloon2.load(saved.balloon);
  t.deepEqual(balloon2.save(), saved.balloon);
  await new XenstoreChildren(xs, log).add(balloon2);
  await xs.write('memory/target', String(20 * 4));
  await until(() => xen.reservation === 20, 'balloon up');
  t.deepEqual(pages2.allocMany(pages2.free).sort((a, b) => a - b), [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19]);
  t.deepEqual(balloon2.save(), { targetPages: 20, ballooned: [], nextNewGfn: 20 });
});
