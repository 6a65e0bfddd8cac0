import test from 'ava';
import type { Kernel } from '../../src/kernel/kernel.js';
import { XenbusDev, type XenbusDevFile } from '../../src/kernel/xenstore/xenbus-dev.js';
import { encodeMessage, XsFrameReader, XsType, type XsMessage } from '../../src/protocol/xs-wire.js';
import { bootMachine, until, yamlConfig, type TestMachine } from '../helpers/machine.js';

/** One open of a guest's xenbus device, recording what comes back to it. */
interface Open {
  file: XenbusDevFile;
  got: Array<{ type: string; reqId: number; body: string }>;
  hungUp: string[];
  send(type: number, reqId: number, body: string, txId?: number): void;
}

function open(dev: XenbusDev): Open {
  const reader = new XsFrameReader();
  const got: Open['got'] = [];
  const hungUp: string[] = [];
  const file = dev.open({
    deliver: (frame) => {
      for (const m of reader.push(frame)) got.push(row(m));
    },
    hangUp: (reason) => hungUp.push(reason),
  });
  return { file, got, hungUp, send: (type, reqId, body, txId = 0) => file.write(encodeMessage(type, reqId, txId, body)) };
}

function row(m: XsMessage): Open['got'][number] {
  const type = Object.entries(XsType).find(([, v]) => v === m.type)?.[0] ?? String(m.type);
  return { type, reqId: m.reqId, body: m.payload.toString('latin1') };
}

async function guest(t: { teardown(f: () => Promise<void>): void }): Promise<{ tm: TestMachine; k: Kernel; domid: number }> {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const { domid } = await tm.m.toolstack.create(yamlConfig('name: g\ntype: pvh\nmemory: 64\nvcpus: 1\n'));
  const k = tm.m.toolstack.kernel(domid)!;
  await until(() => k.state === 'running', 'guest running');
  return { tm, k, domid };
}

const xenstoreInterrupts = (k: Kernel): number => k.intr.snapshot().rows.find((r) => r.name === 'xenstore0')!.total;

test("two opens with the same req_id and token: each gets its own replies and only its own watch's events, the WATCH reply before the initial event", async (t) => {
  const { tm, k, domid } = await guest(t);
  const dev = new XenbusDev(() => k.xs);
  const one = open(dev);
  const two = open(dev);
  one.send(XsType.READ, 7, 'name\0');
  two.send(XsType.READ, 7, 'domid\0');
  one.send(XsType.WATCH, 8, 'data/one\0t\0');
  two.send(XsType.WATCH, 8, 'data/two\0t\0');
  await until(() => one.got.length === 3 && two.got.length === 3, 'replies and initial events');
  t.deepEqual(one.got, [
    { type: 'READ', reqId: 7, body: 'g' },
    { type: 'WATCH', reqId: 8, body: 'OK\0' },
    { type: 'WATCH_EVENT', reqId: 0, body: 'data/one\0t\0' },
  ]);
  t.deepEqual(two.got, [
    { type: 'READ', reqId: 7, body: String(domid) },
    { type: 'WATCH', reqId: 8, body: 'OK\0' },
    { type: 'WATCH_EVENT', reqId: 0, body: 'data/two\0t\0' },
  ]);
  await tm.xs.write(`/local/domain/${domid}/data/two/x`, '1');
  await until(() => two.got.length === 4, 'the event');
  t.deepEqual(two.got[3], { type: 'WATCH_EVENT', reqId: 0, body: 'data/two/x\0t\0' });
  t.is(one.got.length, 3, 'not to the other open');
  // UNWATCH of a watch the open does not have is OK, as Linux answers it.
  one.send(XsType.UNWATCH, 9, 'data/two\0t\0');
  await until(() => one.got.length === 4, 'unwatch reply');
  t.deepEqual(one.got[3], { type: 'UNWATCH', reqId: 9, body: 'OK\0' });
  await tm.xs.write(`/local/domain/${domid}/data/two/y`, '1');
  await until(() => two.got.length === 5, 'two still watches');
  one.file.close();
  two.file.close();
});

test("an open's transaction is its own: another open naming it gets ENOENT, and release aborts it", async (t) => {
  const { tm, k, domid } = await guest(t);
  const dev = new XenbusDev(() => k.xs);
  const one = open(dev);
  const two = open(dev);
  one.send(XsType.TRANSACTION_START, 1, '\0');
  await until(() => one.got.length === 1, 'tx id');
  const tx = Number.parseInt(one.got[0]!.body, 10);
  one.send(XsType.WRITE, 2, 'data/x\0v', tx);
  two.send(XsType.WRITE, 2, 'data/y\0v', tx);
  await until(() => one.got.length === 2 && two.got.length === 1, 'write replies');
  t.deepEqual(two.got[0], { type: 'ERROR', reqId: 2, body: 'ENOENT\0' });
  // The abort goes out on the kernel's ring before two's next request.
  one.file.close();
  two.send(XsType.READ, 3, 'data/x\0');
  await until(() => two.got.length === 2, 'read');
  t.deepEqual(two.got[1], { type: 'ERROR', reqId: 3, body: 'ENOENT\0' });
  await t.throwsAsync(tm.xs.read(`/local/domain/${domid}/data/x`), { message: /ENOENT/ });
  two.file.close();
});

test("the guest's xenstore interrupt counts the replies its device's users cause", async (t) => {
  const { k } = await guest(t);
  const dev = new XenbusDev(() => k.xs);
  const one = open(dev);
  const before = xenstoreInterrupts(k);
  for (let i = 0; i < 50; i++) one.send(XsType.READ, i + 1, 'name\0');
  await until(() => one.got.length === 50, 'replies');
  t.true(xenstoreInterrupts(k) - before >= 50, `${xenstoreInterrupts(k) - before} interrupts for 50 requests`);
  one.file.close();
});

test('a request over the payload limit hangs the open up; a gone kernel hangs up the next request', async (t) => {
  const { k } = await guest(t);
  let xs: Kernel['xs'] | null = k.xs;
  const dev = new XenbusDev(() => xs);
  const one = open(dev);
  const header = Buffer.alloc(16);
  header.writeUInt32LE(XsType.WRITE, 0);
  header.writeUInt32LE(5000, 12);
  one.file.write(header);
  t.deepEqual(one.hungUp, ['a WRITE request of 5000 bytes is over the 4096-byte limit']);
  const two = open(dev);
  xs = null;
  two.send(XsType.READ, 1, 'name\0');
  await until(() => two.hungUp.length === 1, 'hang-up');
  t.regex(two.hungUp[0]!, /no kernel/);
  t.deepEqual(two.got, []);
});
