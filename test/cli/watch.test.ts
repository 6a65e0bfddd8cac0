import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { XsClient } from '../../src/protocol/xs-client.js';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { startHost } from '../helpers/daemon.js';
import { assertBuilt, makeShimDir, RUN_JS, toolEnv } from '../helpers/xenstore-cli.js';
import { startTarget, type XenstoredTarget } from '../helpers/xenstored-target.js';

// xenstore-watch's life: signals, its count, and a daemon that goes away.

const REAL = existsSync('/usr/bin/xenstore-watch');
let target: XenstoredTarget;
let client: XsClient;
let shims: string;

test.before(async () => {
  assertBuilt();
  target = await startTarget('watch');
  client = await connectXsClient(target.socket);
  shims = makeShimDir();
});

test.after.always(async () => {
  client?.close();
  await target?.dispose();
});

interface Watching {
  child: ChildProcess;
  lines: () => string[];
  waitLines(n: number): Promise<void>;
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function watch(argv: string[], env: NodeJS.ProcessEnv): Watching {
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('latin1').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('latin1').on('data', (d: string) => (stderr += d));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  const lines = (): string[] => stdout.split('\n').slice(0, -1);
  const waitLines = async (n: number): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (lines().length < n) {
      if (Date.now() > deadline) throw new Error(`waited for ${n} lines, got ${JSON.stringify(stdout)} ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { child, lines, waitLines, ended };
}

const variants = (): Array<[string, string[], NodeJS.ProcessEnv]> => [
  ['shim', ['xenstore-watch'], toolEnv(target.env, shims)],
  ['xenemu', [process.execPath, RUN_JS, 'xenstore', 'watch'], target.env],
  ...(REAL ? [['real', ['/usr/bin/xenstore-watch'], target.env] as [string, string[], NodeJS.ProcessEnv]] : []),
];

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test.serial(`without -n a watch runs until ${signal}, and dies by it like the C tool`, async (t) => {
    for (const [name, argv, env] of variants()) {
      const w = watch([...argv, '/xw/sig', '/xw/other'], env);
      await w.waitLines(2);
      await client.write('/xw/sig/a', '1');
      await w.waitLines(3);
      w.child.kill(signal);
      const end = await w.ended;
      t.deepEqual({ ...end, stdout: w.lines() }, { code: null, signal, stdout: ['/xw/sig', '/xw/other', '/xw/sig/a'], stderr: '' }, name);
    }
  });
}

test.serial('-n counts the initial events and the events of a transaction', async (t) => {
  for (const [name, argv, env] of variants()) {
    await client.rm('/xw/n').catch(() => {});
    const w = watch([...argv, '-n', '4', '/xw/n'], env);
    await w.waitLines(1);
    await client.transaction(async (tx) => {
      await client.write('/xw/n/a', '1', tx);
      await client.write('/xw/n/b', '2', tx);
    });
    await client.write('/xw/n/c', '3');
    const end = await w.ended;
    t.is(end.code, 0, name);
    t.is(w.lines().length, 4, name);
    t.deepEqual(w.lines()[0], '/xw/n', name);
    t.deepEqual(w.lines().slice(1).sort(), ['/xw/n/a', '/xw/n/b', '/xw/n/c'], name);
  }
});

test.serial('a watch whose daemon goes away says so and exits 1', async (t) => {
  const host = await startHost();
  try {
    const w = watch(['xenstore-watch', '/x'], toolEnv(host.env, shims));
    await w.waitLines(1);
    await host.kill();
    const end = await w.ended;
    t.deepEqual(end, { code: 1, signal: null, stdout: '/x\n', stderr: 'xenstore-watch: xenstored closed the connection\n' });
  } finally {
    await host.dispose();
  }
});
