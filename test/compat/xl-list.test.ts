import test from 'ava';
import type { DomainClient } from '../../src/client/domains.js';
import { XlFailure, xlList, type XlContext } from '../../src/compat/xl-commands.js';
import type { XlDomainRow } from '../../src/toolstack/libxl/rows.js';

const flags = { running: false, blocked: true, paused: false, shutdown: false, dying: false };
const dom0: XlDomainRow = { domid: 0, name: 'Domain-0', currentMemKb: 1048576, vcpusOnline: 4, stateFlags: { ...flags, running: true, blocked: false }, cpuTimeNs: 1e9, uuid: '00000000-0000-0000-0000-000000000000' };
const web: XlDomainRow = { ...dom0, domid: 2, name: 'web', currentMemKb: 524288, vcpusOnline: 2, stateFlags: flags };
// What the daemon answered for a domain built from {"name": 5}: NaN memory, sent as null.
const broken = { ...dom0, domid: 1, name: 5, currentMemKb: null, vcpusOnline: 0 } as unknown as XlDomainRow;

function context(rows: XlDomainRow[]): XlContext {
  const client = { list: () => Promise.resolve(rows) } as unknown as DomainClient;
  return { client: () => Promise.resolve(client), peekClient: () => Promise.resolve(client), note: () => {}, now: () => new Date() };
}

test('xenemu list shows every other domain when the daemon reports one in a state no line can show, and says which', async (t) => {
  const err = await t.throwsAsync(xlList(context([dom0, broken, web]), { domains: [], long: false, verbose: false, context: false, cpupool: false, numa: false }));
  t.true(err instanceof XlFailure);
  const failure = err as XlFailure;
  t.is(failure.exitStatus, 1);
  const lines = failure.stdout.split('\n');
  t.regex(lines[1]!, /^Domain-0 +0 +1024 +4 /);
  t.regex(lines[2]!, /^web +2 +512 +2 /);
  t.is(lines.length, 4, 'the header, two domains, and the final newline');
  t.regex(failure.stderr, /^xenemu: domain 1 is left out: the daemon reports a state it cannot be listed in \(.+\)\n$/);
});

test('xenemu list with every domain well: no failure', async (t) => {
  const out = await xlList(context([dom0, web]), { domains: [], long: false, verbose: false, context: false, cpupool: false, numa: false });
  t.is(out.stdout.split('\n').length, 4);
});
