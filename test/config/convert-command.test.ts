import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { runCommandSource, tempFile } from '../helpers/run.js';

/** Run `xenemu config convert ARGS` from the TypeScript sources (no build needed). */
function convert(...args: string[]) {
  return runCommandSource('config/convert.ts', args);
}

const tmp = tempFile;

test('convert turns an xl.cfg into YAML; -v warns of what is not emulated', async (t) => {
  const file = tmp('vm.cfg', 'name = "web"\nmemory = 512\ndisk = [ "web.img,,xvda" ]\nvfb = [ "vnc=1" ]\n');
  const r = await convert(file);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, "# Converted from vm.cfg by xenemu config convert.\n# Keys are xl.cfg(5)'s; configs/schema.json describes them.\nname: web\ntype: pv\nmemory: 512\nvcpus: 1\ndisk:\n  - target: web.img\n    vdev: xvda\n");
  t.is(r.stderr, '', 'xl says nothing of keys xenemu does not emulate');
  const v = await convert(file, '-v');
  t.is(v.stdout, r.stdout);
  t.is(v.stderr, `xenemu: warning: ${file}:4:1: vfb: vfb is not emulated by xenemu and was ignored\n`);
});

test('convert takes --to, -o and xl-style overrides', async (t) => {
  const file = tmp('web.yaml', 'name: web\nmemory: 512\n');
  const out = join(file, '..', 'web.cfg');
  const r = await convert(file, '--to', 'xlcfg', '-o', out, 'memory=1024', 'extra="quiet"');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '');
  t.is(readFileSync(out, 'utf8'), '# Converted from web.yaml by xenemu config convert.\nname = "web"\ntype = "pv"\nmemory = 1024\nvcpus = 1\nextra = "quiet"\n');
});

test('a bad config is an error on stderr naming file:line:column and the key, exit 1 as xl', async (t) => {
  const file = tmp('bad.cfg', 'name = "web"\nmemory = "lots"\n');
  const r = await convert(file);
  t.is(r.code, 1);
  t.is(r.stdout, '');
  t.is(r.stderr, `xenemu: ${file}:2:10: memory: "lots" is not a valid number: memory wants a number, e.g. memory = 512\n`);
});

test('a missing file is a config error too', async (t) => {
  const r = await convert('/nonexistent/vm.cfg');
  t.is(r.code, 1);
  t.is(r.stderr, 'xenemu: /nonexistent/vm.cfg:1:1: cannot read the config file: no such file\n');
});

test('convert refuses to overwrite its input', async (t) => {
  const file = tmp('web.yaml', 'name: web\n');
  const r = await convert(file, '--to', 'yaml', '-o', file);
  t.is(r.code, 1);
  t.is(readFileSync(file, 'utf8'), 'name: web\n');
});
