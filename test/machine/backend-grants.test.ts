/**
 * Backends reach a guest's memory only as Xen allows: xenstored and the console backend
 * map the guest's ring pages through the grants the domain builder put in its reserved
 * entries (GNTTAB_RESERVED_XENSTORE, GNTTAB_RESERVED_CONSOLE), from the domain they run
 * in, and a page they still map outlives the guest's destruction until they let go.
 */
import test from 'ava';
import { GNTTAB, GTF } from '../../src/abi/index.js';
import { Domctl } from '../../src/hypervisor/domctl.js';
import { XsRequestError } from '../../src/protocol/xs-client.js';
import { XsType } from '../../src/protocol/xs-wire.js';
import { buildDomain, type BuildSpec } from '../../src/toolstack/domain-builder.js';
import { removeDomainLayout, writeConsoleLayout, type LayoutInfo } from '../../src/toolstack/xenstore-layout.js';
import { bootMachine, until, yamlConfig, type TestMachine } from '../helpers/machine.js';

const guest = yamlConfig('name: g\nmemory: 64\n');

function spec(over: Partial<BuildSpec> = {}): BuildSpec {
  return {
    name: 'bare',
    uuid: '11111111-2222-3333-4444-555555555555',
    type: 'pv',
    memoryKiB: 65536,
    maxMemKiB: 65536,
    vcpus: 1,
    maxVcpus: 1,
    viridian: false,
    cmdline: '',
    maxEventChannels: 1023,
    maxGrantFrames: 64,
    maxMaptrackFrames: 1024,
    storeDomid: 0,
    consoleDomid: 0,
    ...over,
  };
}

async function introduce(tm: TestMachine, domid: number, gfn: number, port: number): Promise<string> {
  return tm.xs.request(XsType.INTRODUCE, `${domid}\0${gfn}\0${port}\0`).then(
    () => 'OK',
    (err: unknown) => (err instanceof XsRequestError ? err.errno : String(err)),
  );
}

test('a guest\'s store and console pages are granted to dom0 and mapped through those grants while it runs', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const r = await tm.m.toolstack.create(guest);
  await until(() => tm.m.toolstack.kernel(r.domid)?.state === 'running', 'guest running');
  const entries = tm.m.hv.get(r.domid).grantTable!.entries;
  const read = async (p: string) => Number((await tm.xs.read(`/local/domain/${r.domid}/${p}`)).toString());
  const inUse = GTF.permit_access | GTF.reading | GTF.writing;
  t.deepEqual(entries.entry(GNTTAB.RESERVED_XENSTORE), { flags: inUse, domid: 0, frame: await read('store/ring-ref') });
  t.deepEqual(entries.entry(GNTTAB.RESERVED_CONSOLE), { flags: inUse, domid: 0, frame: await read('console/ring-ref') });
  t.is(tm.m.hv.get(0).grantTable!.liveHandles().length, 2, 'dom0 holds exactly those two mappings');

  await tm.m.toolstack.destroy(r.domid);
  t.is(tm.m.hv.get(0).grantTable!.liveHandles().length, 0);
  t.is(tm.m.hv.dying.size, 0, 'unmapped before the destroy: nothing of the guest is left');
});

test('a guest that revoked its xenstore grant cannot be introduced; granted again, it can', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const built = buildDomain(new Domctl(tm.m.hv), spec());
  const grants = built.domain.grantTable!.entries;
  t.true(grants.endForeignAccess(GNTTAB.RESERVED_XENSTORE), 'not mapped yet: the guest may end access');
  t.is(await introduce(tm, built.domain.domid, built.storeGfn, built.storePort), 'EINVAL');
  t.throws(() => tm.m.rings.introduce(built.domain.domid, BigInt(built.storeGfn), built.storePort), {
    message: `cannot map domain ${built.domain.domid}'s xenstore ring through its grant 1: GNTST_general_error`,
  });
  t.is((await tm.xs.request(XsType.IS_DOMAIN_INTRODUCED, `${built.domain.domid}\0`)).toString(), 'F\0');
  t.is(tm.m.hv.get(0).grantTable!.liveHandles().length, 0);

  grants.grantForeignAccess(GNTTAB.RESERVED_XENSTORE, 0, built.storeGfn, false);
  t.is(await introduce(tm, built.domain.domid, built.storeGfn, built.storePort), 'OK');
  t.is(grants.flags(GNTTAB.RESERVED_XENSTORE) & GTF.writing, GTF.writing);
  await tm.xs.request(XsType.RELEASE, `${built.domain.domid}\0`);
  t.is(grants.flags(GNTTAB.RESERVED_XENSTORE), GTF.permit_access, 'RELEASE unmaps the ring');
  tm.m.hv.destroy(built.domain.domid);
});

test('a store page granted to another domain is useless to xenstored\'s', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const built = buildDomain(new Domctl(tm.m.hv), spec({ storeDomid: 5 }));
  t.is(built.domain.grantTable!.entries.domid(GNTTAB.RESERVED_XENSTORE), 5);
  t.is(await introduce(tm, built.domain.domid, built.storeGfn, built.storePort), 'EINVAL');
  tm.m.hv.destroy(built.domain.domid);
});

test('without a console grant the console backend falls back to a privileged foreign mapping of ring-ref, and says so', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const built = buildDomain(new Domctl(tm.m.hv), spec());
  const d = built.domain;
  t.true(d.grantTable!.entries.endForeignAccess(GNTTAB.RESERVED_CONSOLE));
  tm.m.consoles.attach(d.domid, 'bare', built.consoleGfn, built.consolePort);
  t.true(tm.log.some((l) => l.includes(`console: domain ${d.domid}: no console grant for domain 0; mapped frame ${built.consoleGfn} instead`)), tm.log.join('\n'));
  t.is(d.memory.refs(built.consoleGfn), 1, 'the mapped page holds a reference');
  tm.m.consoles.detach(d.domid, { discardNewConsoleLog: true });
  t.is(d.memory.refs(built.consoleGfn), 0);
  tm.m.hv.destroy(d.domid);
});

test('a guest destroyed while its backends still map its pages stays dying until they let go', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const built = buildDomain(new Domctl(tm.m.hv), spec());
  const domid = built.domain.domid;
  t.is(await introduce(tm, domid, built.storeGfn, built.storePort), 'OK');
  tm.m.consoles.attach(domid, 'bare', built.consoleGfn, built.consolePort);
  const free = tm.m.hv.freeKiB;
  tm.m.hv.destroy(domid);
  t.true(tm.m.hv.dying.has(domid), 'two pages are still mapped');
  t.is(tm.m.hv.freeKiB, free + 65536 - 8);
  tm.m.consoles.detach(domid, { discardNewConsoleLog: true });
  t.true(tm.m.hv.dying.has(domid));
  await tm.xs.request(XsType.RELEASE, `${domid}\0`);
  t.false(tm.m.hv.dying.has(domid), 'the last unmap frees it');
  t.is(tm.m.hv.freeKiB, free + 65536);
});

test('a console served by another domain: its channel, grant and backend dir are that domain\'s, and teardown finds them', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const built = buildDomain(new Domctl(tm.m.hv), spec({ consoleDomid: 3 }));
  const d = built.domain;
  t.deepEqual(d.evtchn!.status(built.consolePort), { status: 'unbound', vcpu: 0, remoteDomid: 3 });
  t.deepEqual(d.evtchn!.status(built.storePort), { status: 'unbound', vcpu: 0, remoteDomid: 0 });
  t.is(d.grantTable!.entries.domid(GNTTAB.RESERVED_CONSOLE), 3);
  const info: LayoutInfo = {
    domid: d.domid,
    name: 'bare',
    uuid: d.uuid,
    type: 'pv',
    maxvcpus: 1,
    vcpus: 1,
    staticMaxKiB: 65536,
    targetKiB: 65536,
    storeGfn: built.storeGfn,
    storePort: built.storePort,
    consoleGfn: built.consoleGfn,
    consolePort: built.consolePort,
    consoleDomid: built.consoleDomid,
    startTime: '0.00',
  };
  await tm.xs.transaction((tx) => writeConsoleLayout(tm.xs, tx, info));
  const backend = `/local/domain/3/backend/console/${d.domid}/0`;
  t.is((await tm.xs.read(`/local/domain/${d.domid}/console/backend`)).toString(), backend);
  t.is((await tm.xs.read(`/local/domain/${d.domid}/console/backend-id`)).toString(), '3');
  t.deepEqual(await tm.xs.getPerms(backend), ['n3', `r${d.domid}`], 'the backend domain owns its dir');
  await tm.xs.transaction((tx) => removeDomainLayout(tm.xs, tx, d.domid, d.uuid));
  t.deepEqual(await tm.xs.directory('/local/domain/3/backend/console'), [], 'the backend dir in domain 3 went too');
  tm.m.hv.destroy(d.domid);
});
