/**
 * A request too big for XenStore fails on its own: the toolstack's in-process
 * connection, a tool's client and a guest's ring keep serving the requests after it.
 */
import test from 'ava';
import { XsClient, XsRequestError, type XsTransport } from '../../src/protocol/xs-client.js';
import { engineTransport } from '../../src/kernel/engine-transport.js';
import type { ToolstackError } from '../../src/toolstack/errors.js';
import { encodeMessage, PAYLOAD_MAX, XsFrameReader, XsType } from '../../src/protocol/xs-wire.js';
import { bootMachine, until, yamlConfig } from '../helpers/machine.js';

const small = yamlConfig('name: small\ntype: pv\nmemory: 64\n');

test('a create with a 5000-byte kernel path fails with E2BIG; later create, mem-set and destroy still answer', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  // Past the config checks (as a control-socket client could send it): the toolstack's
  // own XenStore connection must refuse the write, not wedge.
  const big = { ...yamlConfig('name: big\ntype: pv\nmemory: 64\n'), kernel: `/${'k'.repeat(5000)}` };
  const err = await t.throwsAsync(tm.m.toolstack.create(big));
  t.is((err as ToolstackError).code, 'E2BIG');
  t.deepEqual([...tm.m.hv.domains.keys()], [0], 'nothing of it is left');

  const r = await tm.m.toolstack.create(small);
  await until(() => tm.m.toolstack.kernel(r.domid)?.state === 'running', 'guest running');
  await tm.m.toolstack.memSet(r.domid, 32 * 1024);
  t.is((await tm.xs.read(`/local/domain/${r.domid}/memory/target`)).toString(), String(32 * 1024));
  await tm.m.toolstack.destroy(r.domid);
  t.deepEqual([...tm.m.hv.domains.keys()], [0]);
});

test('a client refuses to send a payload over 4096 bytes (E2BIG) and its connection stays usable', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const err = await t.throwsAsync(tm.xs.write('/tool/big', 'v'.repeat(PAYLOAD_MAX)));
  t.is((err as XsRequestError).errno, 'E2BIG');
  t.is((err as XsRequestError).request, 'WRITE');
  await tm.xs.write('/tool/ok', 'fine');
  t.is((await tm.xs.read('/tool/ok')).toString(), 'fine');
});

test('the in-process connection answers an oversized frame with E2BIG and reads the next one', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const transport = engineTransport(tm.m.xs);
  const reader = new XsFrameReader();
  const replies: Array<{ type: number; reqId: number; payload: string }> = [];
  transport.attach(
    (chunk) => {
      for (const m of reader.push(chunk)) replies.push({ type: m.type, reqId: m.reqId, payload: m.payload.toString('latin1') });
    },
    () => {},
  );
  transport.write(encodeMessage(XsType.WRITE, 7, 0, Buffer.alloc(PAYLOAD_MAX + 1, 0x61)));
  transport.write(encodeMessage(XsType.READ, 8, 0, '/tool/xenstored\0'));
  t.deepEqual(replies[0], { type: XsType.ERROR, reqId: 7, payload: 'E2BIG\0' });
  t.is(replies[1]?.reqId, 8);
  t.not(replies[1]?.type, XsType.ERROR);
  transport.close();
});

test('a reply header over 4096 bytes fails the waiting and later requests instead of leaving them pending', async (t) => {
  let deliver: (chunk: Buffer) => void = () => {};
  let closed = false;
  const fake: XsTransport = {
    write: () => {},
    attach: (onData) => (deliver = onData),
    close: () => (closed = true),
  };
  const client = new XsClient(fake);
  const waiting = client.read('/a');
  const header = Buffer.alloc(16);
  header.writeUInt32LE(XsType.READ, 0);
  header.writeUInt32LE(1, 4);
  header.writeUInt32LE(PAYLOAD_MAX + 1, 12);
  deliver(header);
  await t.throwsAsync(waiting, { message: /over the 4096-byte limit/ });
  await t.throwsAsync(client.read('/b'), { message: /over the 4096-byte limit/ });
  t.true(closed);
});

test('a guest refuses to put an oversized request on its ring (E2BIG) and its ring keeps serving', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const r = await tm.m.toolstack.create(small);
  const guest = tm.m.toolstack.kernel(r.domid)!;
  await until(() => guest.state === 'running', 'guest running');
  const err = await t.throwsAsync(guest.xs.write('data/big', 'v'.repeat(PAYLOAD_MAX)));
  t.is((err as XsRequestError).errno, 'E2BIG');
  await guest.xs.write('data/after', 'still here');
  t.is((await tm.xs.read(`/local/domain/${r.domid}/data/after`)).toString(), 'still here');
});

test('a ring that breaks the protocol is closed with XENSTORE_ERROR_PROTO and the guest\'s requests fail instead of waiting', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const r = await tm.m.toolstack.create(small);
  const guest = tm.m.toolstack.kernel(r.domid)!;
  await until(() => guest.state === 'running', 'guest running');
  // A request header announcing more than a payload may hold, put on the ring by hand
  // (the client itself refuses to send one).
  const header = encodeMessage(XsType.WRITE, 999, 0, Buffer.alloc(0));
  header.writeUInt32LE(PAYLOAD_MAX + 1, 12);
  (guest.xs as unknown as { transport: XsTransport }).transport.write(header);
  const waiting = guest.xs.read('name');
  await t.throwsAsync(waiting, { message: /xenstored stopped serving the ring \(error 3\)/ });
  await t.throwsAsync(guest.xs.read('name'));
  // dom0 and the toolstack are unaffected.
  await tm.m.toolstack.destroy(r.domid);
  t.deepEqual([...tm.m.hv.domains.keys()], [0]);
});
