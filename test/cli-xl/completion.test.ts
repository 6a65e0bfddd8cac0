import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempHome } from '../helpers/daemon.js';
import { assertXlBuilt, CONFIGS, RUN_JS, scratch, xlHost, type XlHost } from './helpers.js';

// The bash function `xenemu completion bash` prints, run in bash with COMP_WORDS and
// COMP_CWORD set as bash sets them on Tab, against a running host and against none.

let h: XlHost;

test.before(async () => {
  assertXlBuilt();
  h = await xlHost();
  const r = await h.xenemu('create', join(CONFIGS, 'web.yaml'));
  if (r.code !== 0) throw new Error(r.stderr);
});

test.after.always(async () => {
  await h?.dispose();
});

/** COMPREPLY for the words (the last one is the word under the cursor), and the options bash was given. */
function tab(words: string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): { reply: string[]; options: string } {
  const script = spawnSync(process.execPath, [RUN_JS, 'completion', 'bash'], { env, encoding: 'utf8' }).stdout;
  const quoted = [RUN_JS, ...words].map((w) => `'${w.replace(/'/g, "'\\''")}'`).join(' ');
  const body = `${script}
exec 3>&2; compopt() { echo "compopt $*" >&3; }   # outside a completion, record what it is asked
COMP_WORDS=(${quoted}); COMP_CWORD=${words.length}
_xenemu_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['--norc', '-c', body], { env, cwd, encoding: 'utf8' });
  return { reply: r.stdout.split('\n').filter((l) => l !== ''), options: r.stderr };
}

test.serial('bash: commands, domains of the running host, XenStore paths, file names', (t) => {
  t.deepEqual(tab(['vcpu-'], h.env).reply, ['vcpu-list', 'vcpu-pin', 'vcpu-set']);
  t.deepEqual(tab(['list', ''], h.env).reply, ['Domain-0', 'web']);
  t.deepEqual(tab(['destroy', 'w'], h.env).reply, ['web']);
  const ls = tab(['xenstore', 'ls', '/local/domain/'], h.env);
  t.deepEqual(ls.reply, ['/local/domain/0/', '/local/domain/1/']);
  const into = tab(['xenstore', 'read', '/lo'], h.env);
  t.deepEqual(into.reply, ['/local/']);
  t.regex(into.options, /compopt -o nospace/);
  t.true(tab(['xenstore', 'read', '/local/domain/1/'], h.env).reply.includes('/local/domain/1/name'));

  const dir = scratch();
  writeFileSync(join(dir, 'web.yaml'), '');
  writeFileSync(join(dir, 'web.cfg'), '');
  mkdirSync(join(dir, 'webs'));
  const files = tab(['create', 'web'], h.env, dir);
  t.deepEqual(files.reply.sort(), ['web.cfg', 'web.yaml', 'webs']);
  t.regex(files.options, /compopt -o filenames/);
  t.deepEqual(tab(['config', 'check', 'a.yaml', 'webs'], h.env, dir).reply, ['webs']);
});

test.serial('bash: no daemon, no domains and no paths, and none is started', (t) => {
  const home = tempHome();
  const env: NodeJS.ProcessEnv = { ...h.env, XENEMU_HOME: home };
  delete env.XENSTORED_PATH;
  t.deepEqual(tab(['list', ''], env).reply, []);
  t.deepEqual(tab(['xenstore', 'ls', '/'], env).reply, []);
  t.deepEqual(tab(['l'], env).reply, ['list']);
  t.false(existsSync(join(home, 'daemon.pid')), 'no daemon started');
  t.false(readdirSync(home).some((f) => f.endsWith('.sock') || f === 'socket'), 'no sockets made');
});
