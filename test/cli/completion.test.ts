import test from 'ava';
import { readFileSync } from 'node:fs';
import { complete, type Completion, type CompletionSources } from '../../src/cli/completion/complete.js';
import { ARG_KINDS } from '../../src/cli/completion/arg-kinds.js';
import type { ManifestCommand } from '../../src/cli/oclif-argv.js';

// What Tab offers, from the built manifest (npm run build first) and a pretend host.

const commands = (JSON.parse(readFileSync(new URL('../../oclif.manifest.json', import.meta.url), 'utf8')) as { commands: Record<string, ManifestCommand> }).commands;

const TREE: Record<string, string[]> = {
  '/': ['local', 'tool', 'vm'],
  '/local': ['domain'],
  '/local/domain': ['0', '1'],
  '/local/domain/0': ['name', 'memory'],
  '/local/domain/0/memory': ['target'],
  '/local/domain/1': [],
  '/tool': [],
};
const host: CompletionSources = {
  domains: async () => ['Domain-0', 'web', 'db'],
  children: async (dir, prefix) => (TREE[dir] ?? []).filter((n) => n.startsWith(prefix)).map((name) => ({ name, hasChildren: (TREE[`${dir === '/' ? '' : dir}/${name}`] ?? []).length > 0 })),
};
const noHost: CompletionSources = { domains: async () => [], children: async () => [] };

/** Complete the last word of `typed` (split on spaces; a trailing space starts a new word). */
const tab = (typed: string, sources = host): Promise<Completion> => {
  const line = ['xenemu', ...typed.split(' ')];
  return complete(line, line.length - 1, commands, sources);
};
const offered = async (typed: string, sources = host): Promise<string[]> => {
  const c = await tab(typed, sources);
  return c.kind === 'words' ? c.words : ['<files>'];
};

test('commands, topics and the commands in a topic', async (t) => {
  const top = await offered('');
  for (const w of ['create', 'list', 'xenstore', 'config', 'completion', 'help', 'version']) t.true(top.includes(w), w);
  t.false(top.some((w) => w.includes(':')), 'no oclif ids');
  t.deepEqual(await offered('vcpu-'), ['vcpu-list', 'vcpu-pin', 'vcpu-set']);
  t.deepEqual(await offered('xenstore r'), ['read', 'rm']);
  t.deepEqual(await offered('config '), ['check', 'convert']);
  t.deepEqual(await offered('nosuch '), []);
  t.deepEqual(await offered('help vcpu-l'), ['vcpu-list']);
  t.deepEqual(await offered('help xenstore w'), ['watch', 'write']);
  t.deepEqual(await offered('help list '), []);
});

test('file names where an argument is a file, not after it', async (t) => {
  for (const typed of ['create ', 'create con', '-v create con', 'create -p con', 'create -f ', 'config check a.yaml ', 'config convert ', 'config convert -o ']) {
    t.deepEqual(await tab(typed), { kind: 'files' }, typed);
  }
  t.deepEqual(await offered('create web.yaml '), [], 'after the config come KEY=VALUE settings');
  t.deepEqual(await offered('config convert a.yaml '), []);
});

test('domain names where an argument is a domain, from the host; nothing without one', async (t) => {
  t.deepEqual(await offered('list '), ['Domain-0', 'db', 'web']);
  t.deepEqual(await offered('list web d'), ['db']);
  t.deepEqual(await offered('mem-set w'), ['web']);
  t.deepEqual(await offered('mem-set web '), [], 'a size is not a domain');
  t.deepEqual(await offered('vcpu-pin -f d'), ['db'], 'a boolean flag takes no value');
  t.deepEqual(await offered('evtchn alloc-unbound web '), ['Domain-0', 'db', 'web']);
  t.deepEqual(await offered('list ', noHost), []);
});

test('the disk verbs: block-attach and block-detach a domain then none, block-list domains', async (t) => {
  t.deepEqual(await offered('block-attach w'), ['web']);
  t.deepEqual(await offered('block-attach web '), [], 'a DISKSPEC');
  t.deepEqual(await offered('block-attach web vdev=xvdb '), []);
  t.deepEqual(await offered('block-detach d'), ['db']);
  t.deepEqual(await offered('block-detach db '), [], 'a vdev');
  t.deepEqual(await offered('block-detach -f d'), ['db'], '--force takes no value');
  t.deepEqual(await offered('block-list '), ['Domain-0', 'db', 'web']);
  t.deepEqual(await offered('block-list -l web d'), ['db']);
});

test('XenStore paths: the children of the path typed so far, directories ending in /', async (t) => {
  t.deepEqual(await tab('xenstore ls /lo'), { kind: 'words', words: ['/local/'], nospace: true });
  t.deepEqual(await tab('xenstore read /local/domain/'), { kind: 'words', words: ['/local/domain/0/', '/local/domain/1'], nospace: false });
  t.deepEqual(await tab('xenstore read /local/domain/0/m'), { kind: 'words', words: ['/local/domain/0/memory/'], nospace: true });
  t.deepEqual(await offered('xenstore read /local/domain/0/n'), ['/local/domain/0/name']);
  t.deepEqual(await offered('xenstore read n'), ['name'], 'relative to /local/domain/0');
  t.deepEqual(await offered('xenstore write /tool '), [], 'a value is not a path');
  t.deepEqual(await offered('xenstore write /tool v /t'), ['/tool']);
  t.deepEqual(await offered('xenstore watch -n 1 /t'), ['/tool'], "-n's value is not an operand");
});

test('flags of the command', async (t) => {
  t.deepEqual(await offered('list --'), ['--context', '--cpupool', '--help', '--json', '--long', '--numa', '--verbose']);
  t.deepEqual(await offered('create --dr'), ['--dry-run', '--dryrun']);
  t.deepEqual(await offered('xenstore ls -- -'), [], 'after -- only operands');
});

test('every command of the table exists', (t) => {
  for (const id of Object.keys(ARG_KINDS)) t.not(commands[id], undefined, id);
});

test('exec: a domain, then the command to run in it; --domain of the xenstore tools takes a domain', async (t) => {
  t.deepEqual(await offered('exec w'), ['web']);
  t.deepEqual(await tab('exec web '), { kind: 'files' });
  t.deepEqual(await offered('xenstore read --domain '), ['Domain-0', 'db', 'web']);
  t.deepEqual(await offered('xenstore write --domain web /t'), ['/tool']);
});
