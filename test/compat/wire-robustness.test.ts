import test from 'ava';
import fc from 'fast-check';
import { connect, type Socket } from 'node:net';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { encodeMessage, XsFrameReader, XsType, type XsMessage } from '../../src/protocol/xs-wire.js';
import { startHost, type TestHost } from '../helpers/daemon.js';

let host: TestHost;
test.before(async () => {
  host = await startHost();
});
test.after.always(async () => {
  await host?.dispose();
});

/** A raw socket that collects every message the daemon sends, and notices EOF. */
class RawClient {
  readonly messages: XsMessage[] = [];
  private readonly reader = new XsFrameReader();
  private waiters: Array<() => void> = [];
  ended = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const m of this.reader.push(chunk)) this.messages.push({ ...m, payload: Buffer.from(m.payload) });
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static open(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolve once `n` messages arrived or the daemon closed the connection. */
  async until(n: number): Promise<void> {
    while (this.messages.length < n && !this.ended) await new Promise<void>((r) => this.waiters.push(r));
  }
}

async function stillServes(t: { is: (a: unknown, b: unknown) => void }): Promise<void> {
  const xs = await connectXsClient(host.paths.socket);
  await xs.write('/robust/alive', 'yes');
  t.is((await xs.read('/robust/alive')).toString(), 'yes');
  xs.close();
}

test.serial('an oversize payload gets E2BIG and its connection closed; earlier requests are answered', async (t) => {
  const c = await RawClient.open(host.paths.socket);
  const header = Buffer.alloc(16);
  header.writeUInt32LE(XsType.WRITE, 0);
  header.writeUInt32LE(7, 4);
  header.writeUInt32LE(5000, 12);
  c.socket.write(Buffer.concat([encodeMessage(XsType.READ, 6, 0, '/\0'), header, Buffer.alloc(100)]));
  await c.until(3);
  t.true(c.ended);
  t.deepEqual(
    c.messages.map((m) => [m.type, m.reqId, m.payload.toString('latin1')]),
    [
      [XsType.READ, 6, ''],
      [XsType.ERROR, 7, 'E2BIG\0'],
    ],
  );
  await stillServes(t);
});

test.serial('a short header followed by a hang-up does no harm', async (t) => {
  const c = await RawClient.open(host.paths.socket);
  c.socket.end(Buffer.from([2, 0, 0]));
  await c.until(1);
  t.is(c.messages.length, 0);
  await stillServes(t);
});

test.serial('unknown types get ENOSYS, message after message', async (t) => {
  const c = await RawClient.open(host.paths.socket);
  c.socket.write(Buffer.concat([encodeMessage(99, 1, 0, 'x\0'), encodeMessage(20, 2, 0, 'x\0'), encodeMessage(XsType.READ, 3, 0, '/\0')]));
  await c.until(3);
  t.deepEqual(
    c.messages.map((m) => [m.type, m.reqId, m.payload.toString('latin1')]),
    [
      [XsType.ERROR, 1, 'ENOSYS\0'],
      [XsType.ERROR, 2, 'ENOSYS\0'],
      [XsType.READ, 3, ''],
    ],
  );
  c.socket.destroy();
});

test.serial('a flooding client gets every answer in order and does not starve another client', async (t) => {
  const flood = await RawClient.open(host.paths.socket);
  const n = 20000;
  const burst = Buffer.concat(Array.from({ length: n }, (_, i) => encodeMessage(XsType.WRITE, i + 1, 0, `/robust/flood/k${i % 50}\0v${i}`)));
  flood.socket.write(burst);
  // Another client's request is answered while the flood is being worked off.
  await stillServes(t);
  await flood.until(n);
  t.is(flood.messages.length, n);
  t.true(flood.messages.every((m, i) => m.reqId === i + 1 && m.type === XsType.WRITE));
  flood.socket.destroy();
});

test.serial('random bytes never take the daemon down or disturb another connection', async (t) => {
  const bystander = await connectXsClient(host.paths.socket);
  await bystander.write('/robust/bystander', 'steady');
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 600 }), async (bytes) => {
      const c = await RawClient.open(host.paths.socket);
      c.socket.end(Buffer.from(bytes));
      await c.until(Number.POSITIVE_INFINITY);
      return (await bystander.read('/robust/bystander')).toString() === 'steady';
    }),
    { numRuns: 60, seed: 4242 },
  );
  bystander.close();
  await stillServes(t);
});
