import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleLog } from '../../src/host/console-log.js';

function scratch(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'xe-clog-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const text = (n: number, from = 0): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => 0x41 + ((from + i) % 26)));

test('a log reaching its limit rotates: NAME.log.1 holds the older bytes, in order, none lost', (t) => {
  const dir = scratch(t);
  const path = join(dir, 'guest-web.log');
  const log = new ConsoleLog(path, { maxBytes: 100, backups: 3 }, () => t.fail());
  for (let i = 0; i < 25; i++) log.write(text(10, i * 10));
  log.close();
  t.deepEqual(readdirSync(dir).sort(), ['guest-web.log', 'guest-web.log.1', 'guest-web.log.2']);
  t.is(readFileSync(`${path}.2`).length, 100);
  t.is(readFileSync(`${path}.1`).length, 100);
  t.is(readFileSync(path).length, 50);
  const all = Buffer.concat([readFileSync(`${path}.2`), readFileSync(`${path}.1`), readFileSync(path)]);
  t.deepEqual(all, text(250));
});

test('only `backups` old logs are kept; the oldest goes', (t) => {
  const dir = scratch(t);
  const path = join(dir, 'guest-db.log');
  const log = new ConsoleLog(path, { maxBytes: 10, backups: 2 }, () => t.fail());
  // One write larger than the limit is split across files.
  log.write(text(55));
  log.close();
  t.deepEqual(readdirSync(dir).sort(), ['guest-db.log', 'guest-db.log.1', 'guest-db.log.2']);
  t.deepEqual(readFileSync(`${path}.2`), text(10, 30));
  t.deepEqual(readFileSync(`${path}.1`), text(10, 40));
  t.deepEqual(readFileSync(path), text(5, 50));
});

test('backups 0: the log starts over at the limit', (t) => {
  const dir = scratch(t);
  const path = join(dir, 'guest-a.log');
  const log = new ConsoleLog(path, { maxBytes: 8, backups: 0 }, () => t.fail());
  log.write(text(20));
  log.close();
  t.deepEqual(readdirSync(dir), ['guest-a.log']);
  t.deepEqual(readFileSync(path), text(4, 16));
});

test('an existing log is appended to and counts toward the limit', (t) => {
  const dir = scratch(t);
  const path = join(dir, 'guest-b.log');
  writeFileSync(path, 'x'.repeat(95));
  const log = new ConsoleLog(path, { maxBytes: 100, backups: 1 }, () => t.fail());
  log.write(text(10));
  log.close();
  t.is(readFileSync(`${path}.1`, 'utf8'), `${'x'.repeat(95)}ABCDE`);
  t.is(readFileSync(path, 'utf8'), 'FGHIJ');
});

test('a rotation that fails is reported once and ends the log; writes go on harmlessly', (t) => {
  const dir = scratch(t);
  const sub = join(dir, 'console');
  mkdirSync(sub);
  const path = join(sub, 'guest-c.log');
  const reports: string[] = [];
  const log = new ConsoleLog(path, { maxBytes: 10, backups: 1 }, (why) => reports.push(why));
  log.write(text(10));
  // The directory goes (even root cannot rename into a directory that is not there).
  rmSync(sub, { recursive: true, force: true });
  log.write(text(10));
  log.write(text(10));
  t.false(log.open);
  t.is(reports.length, 1);
  t.regex(reports[0]!, /^cannot rotate: ENOENT/);
  t.false(existsSync(path));
});
