import test from 'ava';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FileLock } from '../../src/state/lock.js';
import { tempHome } from '../helpers/daemon.js';

/** Run one contender process; resolves with how many of its attempts got no lock. */
function contender(path: string, rounds: number, waitMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/lock-contender.ts', path, String(rounds), String(waitMs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`contender exited ${code}`))));
  });
}

// Ten `host start` at once used to leave ~2% of the CLIs waiting out the 30 s start
// lock: two waiters deadlocked inside SQLite's busy handler. Ten processes taking the
// lock 30 times each hit that instant a dozen times per run before the fix; each of
// those attempts waited its whole 10 s and got nothing.
test('ten processes taking the same lock 30 times each all get it: waiters never deadlock', async (t) => {
  const dir = tempHome();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'start.lock');
  const missed = await Promise.all(Array.from({ length: 10 }, () => contender(path, 30, 10_000)));
  t.deepEqual(missed, Array(10).fill(0));
});

test('a held lock is refused to another process and free again once released', async (t) => {
  const dir = tempHome();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'start.lock');
  const held = await FileLock.acquire(path);
  t.not(held, null);
  t.is(await contender(path, 1, 0), 1);
  held!.release();
  t.is(await contender(path, 1, 0), 0);
});
