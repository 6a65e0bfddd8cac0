import test from 'ava';
import { CONSOLE_PENDING_BYTES, type ConsoleClient } from '../../src/host/console-service.js';
import { parseHostConfig } from '../../src/state/host-config.js';
import { bootMachine, until, yamlConfig, type TestMachine } from '../helpers/machine.js';

/** A console client that keeps what it gets; `behind` makes it say its socket is full. */
function recorder(): ConsoleClient & { text: () => string; goneWith: string | null; behind: boolean } {
  const chunks: Buffer[] = [];
  const c = {
    behind: false,
    goneWith: null as string | null,
    output: (chunk: Buffer) => {
      chunks.push(chunk);
      return !c.behind;
    },
    gone: (reason: string) => {
      c.goneWith = reason;
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
  return c;
}

async function guest(t: { teardown(fn: () => Promise<void>): void }): Promise<{ tm: TestMachine; domid: number }> {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const { domid } = await tm.m.toolstack.create(yamlConfig('name: con\ntype: pv\nmemory: 64\n'));
  // The boot ends with the shell's prompt on hvc0.
  await until(() => tm.m.consoles.tail(domid).some((l) => l.includes('reached the idle loop')), 'the guest booted');
  return { tm, domid };
}

test('the first client gets the boot log kept for it, then types a command and reads the answer', async (t) => {
  const { tm, domid } = await guest(t);
  const c = recorder();
  const detach = tm.m.consoles.attachClient(domid, c);
  t.regex(c.text(), /^\[ {4}0\.\d{6}\] Booting con \(domain \d+, PV/);
  t.true(c.text().includes('root@con:~# '));
  t.is(tm.m.consoles.input(domid, Buffer.from('uname -n\r')), 9);
  await until(() => c.text().includes('uname -n\r\ncon\r\nroot@con:~# '), 'the answer to uname -n');
  // One client at a time, as xenconsole's lock allows.
  t.throws(() => tm.m.consoles.attachClient(domid, recorder()), { code: 'EBUSY' });
  detach();
  // What comes while nobody is attached waits for the next client, and only that.
  tm.m.consoles.input(domid, Buffer.from('uname\r'));
  await until(() => tm.m.consoles.tail(domid).some((l) => l === 'xenemu'), 'the guest answered with no client');
  const next = recorder();
  tm.m.consoles.attachClient(domid, next);
  t.false(next.text().includes('Booting'));
  t.true(next.text().startsWith('uname\r\nxenemu\r\n'));
});

test('output no client takes is bounded: the newest 64 KiB wait', async (t) => {
  const { tm, domid } = await guest(t);
  const kernel = tm.m.toolstack.kernel(domid)!;
  for (let i = 0; i < 3000; i++) kernel.log.print(`line ${i} ${'x'.repeat(40)}`);
  await until(() => tm.m.consoles.tail(domid).some((l) => l.includes('line 2999 ')), 'the last line reached the backend');
  const c = recorder();
  tm.m.consoles.attachClient(domid, c);
  const got = c.text();
  t.true(Buffer.byteLength(got) <= CONSOLE_PENDING_BYTES);
  t.true(Buffer.byteLength(got) > CONSOLE_PENDING_BYTES - 100);
  t.true(got.endsWith(`line 2999 ${'x'.repeat(40)}\r\n`));
  t.false(got.includes('line 0 '));
});

test('a client that is behind gets the rest, in order, once it catches up', async (t) => {
  const { tm, domid } = await guest(t);
  const c = recorder();
  tm.m.consoles.attachClient(domid, c);
  c.behind = true;
  tm.m.consoles.input(domid, Buffer.from('uname\r'));
  await until(() => tm.m.consoles.tail(domid).includes('xenemu'), 'the guest answered');
  // Output went out and the client said it was full: what follows waits.
  tm.m.consoles.input(domid, Buffer.from('uname -n\r'));
  await until(() => tm.m.consoles.tail(domid).includes('con'), 'the guest answered again');
  t.false(c.text().includes('uname -n'));
  c.behind = false;
  tm.m.consoles.clientCaughtUp(domid, c);
  t.true(c.text().endsWith('uname\r\nxenemu\r\nroot@con:~# uname -n\r\ncon\r\nroot@con:~# '));
});

test('destroying the domain ends its attached console', async (t) => {
  const { tm, domid } = await guest(t);
  const c = recorder();
  tm.m.consoles.attachClient(domid, c);
  await tm.m.toolstack.destroy(domid);
  t.is(c.goneWith, 'the domain is gone');
  t.throws(() => tm.m.consoles.input(domid, Buffer.from('x')), { code: 'ESRCH' });
});

test('keystrokes beyond the backlog the guest has not read are dropped, not held without bound', async (t) => {
  const { tm, domid } = await guest(t);
  // The guest is paused: nothing reads its in[] ring (1 KiB), so keystrokes pile up in the backend.
  tm.m.hv.pause(domid);
  let taken = 0;
  for (let i = 0; i < 100; i++) taken += tm.m.consoles.input(domid, Buffer.alloc(1024, 0x61));
  t.true(taken < 100 * 1024);
  t.true(taken >= 64 * 1024);
});

test('host.yaml takes the console log limits, and refuses a limit that would rotate every line', (t) => {
  t.deepEqual(parseHostConfig('console_log_max_kib: 256\nconsole_log_backups: 5\n', 'host.yaml'), { console_log_max_kib: 256, console_log_backups: 5 });
  t.throws(() => parseHostConfig('console_log_max_kib: 1\n', 'host.yaml'), { message: /host\.yaml:1:\d+: console_log_max_kib: / });
  t.throws(() => parseHostConfig('console_log_backups: -1\n', 'host.yaml'), { message: /console_log_backups/ });
});
