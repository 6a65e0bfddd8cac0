/**
 * Every kernel sets up its grant table at boot, through the hypercalls a real guest
 * uses, so a frontend can share a page with a backend in another domain: the grant
 * is mapped by the backend's own hypercalls, and taken back only once it lets go.
 */
import test from 'ava';
import { GNTMAP, GNTST, GTF } from '../../src/abi/index.js';
import { bootMachine, yamlConfig } from '../helpers/machine.js';

test('a guest grants a page to dom0; dom0 maps it and sees the guest’s bytes; the grant ends only after the unmap', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const r = await tm.m.toolstack.create(yamlConfig('name: front\nmemory: 64\n'));
  const guest = tm.m.kernel(r.domid)!;
  const dom0 = tm.m.kernel(0)!;

  const gfn = guest.pageAllocator.alloc();
  const ref = guest.gnttab.grantForeignAccess(0, gfn, false);
  t.true(ref >= 8, 'the first eight entries are the toolstack’s (GNTTAB_NR_RESERVED_ENTRIES)');
  guest.hc.platform.page(gfn).set([0x58, 0x65, 0x6e], 0);

  const [mapped] = dom0.hc.gnttabMapGrantRef([{ dom: r.domid, ref, flags: GNTMAP.host_map }]);
  t.is(mapped!.status, GNTST.okay);
  t.deepEqual([...mapped!.page!.subarray(0, 3)], [0x58, 0x65, 0x6e]);
  t.truthy(guest.gnttab.entry(ref).flags & GTF.writing, 'Xen marks the grant in use while it is mapped for writing');

  t.false(guest.gnttab.endForeignAccess(ref), 'still mapped: the reference is deferred, not freed');
  t.is(guest.gnttab.deferredCount, 1);
  t.deepEqual(dom0.hc.gnttabUnmapGrantRef([mapped!.handle]), [GNTST.okay]);

  // Unmapped now: the deferred reference ends and is free again.
  t.is(guest.gnttab.retryDeferred(), 1);
  t.is(guest.gnttab.deferredCount, 0);
  t.is(guest.gnttab.entry(ref).flags, 0);
  await tm.m.toolstack.destroy(r.domid);
});

test('a grant to dom0 is useless to another guest', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const a = await tm.m.toolstack.create(yamlConfig('name: a\nmemory: 64\n'));
  const b = await tm.m.toolstack.create(yamlConfig('name: b\nmemory: 64\n'));
  const ga = tm.m.kernel(a.domid)!;
  const ref = ga.gnttab.grantForeignAccess(0, ga.pageAllocator.alloc(), false);
  const [mapped] = tm.m.kernel(b.domid)!.hc.gnttabMapGrantRef([{ dom: a.domid, ref, flags: GNTMAP.host_map }]);
  t.not(mapped!.status, GNTST.okay);
  t.is(mapped!.page, null);
});

test('a read-only grant: dom0 maps it only read-only, and ending it while mapped says who holds it and how', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const r = await tm.m.toolstack.create(yamlConfig('name: ro\nmemory: 64\n'));
  const guest = tm.m.kernel(r.domid)!;
  const dom0 = tm.m.kernel(0)!;
  const ref = guest.gnttab.grantForeignAccess(0, guest.pageAllocator.alloc(), true);
  const [rw] = dom0.hc.gnttabMapGrantRef([{ dom: r.domid, ref, flags: GNTMAP.host_map }]);
  t.is(rw!.status, GNTST.general_error, 'GTF_readonly mapped without GNTMAP_readonly');
  t.is(guest.gnttab.inUseReason(ref), null, 'the refused map left no mark');
  const [ro] = dom0.hc.gnttabMapGrantRef([{ dom: r.domid, ref, flags: GNTMAP.host_map | GNTMAP.readonly }]);
  t.is(ro!.status, GNTST.okay);
  t.is(guest.gnttab.inUseReason(ref), `grant ${ref} is still in use by domain 0 (GTF_reading): it must unmap it first`);
  t.false(guest.gnttab.endForeignAccess(ref));
  t.deepEqual(dom0.hc.gnttabUnmapGrantRef([ro!.handle]), [GNTST.okay]);
  t.is(guest.gnttab.retryDeferred(), 1);
  await tm.m.toolstack.destroy(r.domid);
});
