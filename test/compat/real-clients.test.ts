import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { startHost, type TestHost } from '../helpers/daemon.js';
import { run, SYSTEM_PYTHON, xenToolsDir } from '../helpers/run.js';

// One daemon for the file: these tests use disjoint paths.
let host: TestHost;
test.before(async () => {
  host = await startHost();
});
test.after.always(async () => {
  await host?.dispose();
});

test.serial('the real xenstore-write, -read, -ls, -list, -exists and -rm work against our socket', async (t) => {
  const env = host.env;
  t.is((await run('xenstore-write', ['/real/a', 'one', '/real/b/c', 'two words'], { env })).code, 0);
  const read = await run('xenstore-read', ['/real/a', '/real/b/c'], { env });
  t.is(read.stdout, 'one\ntwo words\n');
  const ls = await run('xenstore-ls', ['-f', '/real'], { env });
  t.is(ls.stdout, '/real/a = "one"\n/real/b = ""\n/real/b/c = "two words"\n');
  t.is((await run('xenstore-list', ['/real'], { env })).stdout, 'a\nb\n');
  t.is((await run('xenstore-exists', ['/real/b/c'], { env })).code, 0);
  t.is((await run('xenstore-rm', ['/real/b'], { env })).code, 0);
  t.is((await run('xenstore-exists', ['/real/b/c'], { env })).code, 1);
  const missing = await run('xenstore-read', ['/real/nothing'], { env });
  t.is(missing.code, 1);
  t.is(missing.stderr, 'xenstore-read: couldn\'t read path /real/nothing\n');
});

test.serial('the real xenstore-chmod sets permissions the daemon reports back', async (t) => {
  const env = host.env;
  await run('xenstore-write', ['/realperm/a/b', '1'], { env });
  t.is((await run('xenstore-chmod', ['-r', '/realperm', 'n0', 'r5'], { env })).code, 0);
  t.is((await run('xenstore-ls', ['-f', '-p', '/realperm'], { env })).stdout, '/realperm/a = ""   (n0,r5)\n/realperm/a/b = "1"   (n0,r5)\n');
  const bad = await run('xenstore-chmod', ['/realperm/missing', 'r0'], { env });
  t.is(bad.stderr, "xenstore-chmod: Error occurred setting permissions on '/realperm/missing': No such file or directory\n");
});

test.serial('the real xenstore-watch sees the initial event, writes and removals', async (t) => {
  const env = host.env;
  const { spawn } = await import('node:child_process');
  const watch = spawn('xenstore-watch', ['-n', '3', '/realwatch'], { env });
  let out = '';
  const lines = new Promise<void>((resolve) => {
    watch.stdout.on('data', async (d: Buffer) => {
      const first = out === '';
      out += d.toString();
      // The first line is the initial event: the watch is registered, now cause the rest.
      if (first) {
        const xs = await connectXsClient(host.paths.socket);
        await xs.write('/realwatch/x', '1');
        await xs.rm('/realwatch');
        xs.close();
      }
    });
    watch.on('exit', () => resolve());
  });
  await lines;
  t.is(out, '/realwatch\n/realwatch/x\n/realwatch\n');
  t.is(watch.exitCode, 0);
});

test.serial('pyxs reads, writes, lists, uses transactions and watches', async (t) => {
  const script = `
import pyxs
with pyxs.Client() as c:
    c[b"/pyxs/a"] = b"1"
    c.transaction()
    c[b"/pyxs/b"] = b"2"
    c[b"/pyxs/c"] = b"three"
    print(c.commit())
    print(c[b"/pyxs/a"].decode(), sorted(x.decode() for x in c.list(b"/pyxs")), c[b"/pyxs/c"])
    print(c.get_perms(b"/pyxs/a"))
    print(c.get_domain_path(3).decode())
    m = c.monitor()
    m.watch(b"/pyxs/a", b"tok")
    w = m.wait()
    print(next(w))
    c[b"/pyxs/a"] = b"2"
    print(next(w))
`;
  // Expected output as the real oxenstored gives it for the same script.
  const r = await run(SYSTEM_PYTHON, ['-c', script], { env: host.env });
  t.is(r.stderr, '');
  t.is(r.code, 0);
  t.is(
    r.stdout,
    "True\n1 ['a', 'b', 'c'] b'three'\n[b'n0']\n/local/domain/3\nEvent(path=b'/pyxs/a', token=b'tok')\nEvent(path=b'/pyxs/a', token=b'tok')\n",
  );
});

test.serial("Xen's own test-xenstore passes every test against our socket", async (t) => {
  const bin = join(xenToolsDir(), 'test-xenstore');
  t.true(existsSync(bin), 'run scripts/fetch-xen-tools.sh first');
  const r = await run(bin, ['-i', '20'], { env: host.env });
  t.is(r.code, 0, r.stdout + r.stderr);
  const names = ['read 1', 'read 2000', 'write 1', 'write 2000', 'dir', 'rm node', 'rm dir', 'ta empty', 'ta empty x', 'ta rmw', 'ta rmw x', 'ta err'];
  for (const name of names) t.regex(r.stdout, new RegExp(`^${name.padEnd(10)}: avg: \\d+ ns`, "m"), name);
});

test.serial('the read-only socket answers reads and refuses writes with EROFS', async (t) => {
  const rw = await connectXsClient(host.paths.socket);
  await rw.write('/ro/x', 'v');
  rw.close();
  const ro = await connectXsClient(host.paths.socketRo);
  t.is((await ro.read('/ro/x')).toString(), 'v');
  const err = await t.throwsAsync(ro.write('/ro/x', 'w'));
  t.is((err as { errno?: string }).errno, 'EROFS');
  ro.close();
});
