import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ControlServer, type RpcContext } from '../../src/host/control-server.js';

const EVENTS = 20_000;
const PAD = 'x'.repeat(1000);

test('events pushed to a subscriber that does not read are dropped, never queued, and the newest comes when it reads again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xe-push-'));
  let pushed!: () => void;
  const flooded = new Promise<void>((resolve) => (pushed = resolve));
  let buffered = 0;
  // As stats.subscribe does, a method that keeps pushing after it answers: here
  // 20k events of 1 KB, a few per event-loop turn, as fast as a timer could.
  const server = new ControlServer({ flood: z.unknown() }, () => {});
  server.register({
    flood: (_params: unknown, ctx: RpcContext) => {
      // The daemon's end of the connection, to see what it holds (a private field).
      const socket = [...(Reflect.get(server, 'sockets') as Set<Socket>)][0]!;
      let seq = 0;
      const tick = (): void => {
        for (let i = 0; i < 50 && seq < EVENTS; i++) ctx.push('tick', { seq: seq++, pad: PAD });
        buffered = Math.max(buffered, socket.writableLength);
        if (seq < EVENTS) setImmediate(tick);
        else pushed();
      };
      setImmediate(tick);
      return null;
    },
  });
  const path = join(dir, 'c');
  await server.listen(path);
  const client = connect(path);
  t.teardown(async () => {
    client.destroy();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise<void>((resolve) => client.once('connect', resolve));
  client.pause();
  client.write('{"id":1,"method":"flood"}\n');
  await flooded;
  t.true(buffered < 64 * 1024, `the daemon buffered ${buffered} bytes for a subscriber that does not read`);

  // Reading again: some early events, then (after the drain) the newest one.
  const seqs: number[] = [];
  let text = '';
  await new Promise<void>((resolve) => {
    client.setEncoding('utf8');
    client.on('data', (chunk: string) => {
      text += chunk;
      let nl: number;
      while ((nl = text.indexOf('\n')) >= 0) {
        const msg = JSON.parse(text.slice(0, nl)) as { event?: string; data?: { seq: number } };
        text = text.slice(nl + 1);
        if (msg.event === 'tick') seqs.push(msg.data!.seq);
        if (msg.data?.seq === EVENTS - 1) resolve();
      }
    });
    client.resume();
  });
  t.true(seqs.length < EVENTS / 10, `${seqs.length} of ${EVENTS} events were kept for it`);
  t.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in order');
  t.is(seqs.at(-1), EVENTS - 1, 'the newest event is not lost');
});

test('stream events (send) are never dropped: the sender stops when told the reader is behind and goes on at the drain', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xe-send-'));
  let buffered = 0;
  let stops = 0;
  // As console.attach does: send until the reader is behind, then wait for onDrain.
  const server = new ControlServer({ stream: z.unknown() }, () => {});
  server.register({
    stream: (_params: unknown, ctx: RpcContext) => {
      const socket = [...(Reflect.get(server, 'sockets') as Set<Socket>)][0]!;
      let seq = 0;
      const more = (): void => {
        while (seq < EVENTS) {
          const ok = ctx.send('chunk', { seq: seq++, pad: PAD });
          buffered = Math.max(buffered, socket.writableLength);
          if (!ok) {
            stops++;
            return;
          }
        }
      };
      ctx.onDrain(more);
      setImmediate(more);
      return null;
    },
  });
  const path = join(dir, 'c');
  await server.listen(path);
  const client = connect(path);
  t.teardown(async () => {
    client.destroy();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise<void>((resolve) => client.once('connect', resolve));
  client.write('{"id":1,"method":"stream"}\n');
  const seqs: number[] = [];
  let text = '';
  await new Promise<void>((resolve) => {
    client.setEncoding('utf8');
    client.on('data', (chunk: string) => {
      text += chunk;
      let nl: number;
      while ((nl = text.indexOf('\n')) >= 0) {
        const msg = JSON.parse(text.slice(0, nl)) as { event?: string; data?: { seq: number } };
        text = text.slice(nl + 1);
        if (msg.event === 'chunk') seqs.push(msg.data!.seq);
        if (msg.data?.seq === EVENTS - 1) resolve();
      }
    });
  });
  t.deepEqual(seqs, Array.from({ length: EVENTS }, (_, i) => i), 'every event, in order');
  t.true(stops > 0, 'the reader was behind at least once');
  t.true(buffered < 256 * 1024, `the daemon buffered ${buffered} bytes`);
});
