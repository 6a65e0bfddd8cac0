import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { Parser, type Command } from '@oclif/core';
import { parseLikeOclif, type ManifestCommand, type ParsedCommandLine } from '../../src/cli/oclif-argv.js';
import { XL_VERBS, type XlVerbName } from '../../src/compat/xl-verbs.js';

// The fast path's parser against oclif's own, on the xl verbs' real flag and arg
// definitions (commands/*.ts) and the built manifest (npm run build first): wherever
// the fast path takes a command line, oclif parses it to the same thing; and the plain
// forms are taken.

const manifest = JSON.parse(readFileSync(new URL('../../oclif.manifest.json', import.meta.url), 'utf8')) as { commands: Record<string, ManifestCommand> };
const verbs = Object.keys(XL_VERBS) as XlVerbName[];

type CommandClass = typeof Command & { args?: Record<string, object>; flags?: Record<string, object>; baseFlags?: Record<string, object>; enableJsonFlag?: boolean; strict?: boolean };

async function commandClass(verb: string): Promise<CommandClass> {
  return ((await import(`../../commands/${verb}.ts`)) as { default: CommandClass }).default;
}

/** oclif's parse of the command line, as Command.parse sets it up; null where oclif refuses it. */
async function oclifParse(cls: CommandClass, argv: string[]): Promise<ParsedCommandLine | null> {
  // Its help flag is left out (its parse shows help); -h is then unknown, which the fast path never takes.
  const { help: _, ...baseFlags } = cls.baseFlags ?? {};
  // ignoreStdin, as XlCommand.init() sets it: xl never reads operands from stdin.
  const args = Object.fromEntries(Object.entries(cls.args ?? {}).map(([k, a]) => [k, { ...a, ignoreStdin: true }]));
  try {
    const out = await Parser.parse(argv, {
      args: args as never,
      flags: { ...(cls.enableJsonFlag ? { json: { type: 'boolean', parse: async (b: boolean) => b, name: 'json' } } : {}), ...baseFlags, ...cls.flags } as never,
      strict: cls.strict !== false,
    });
    const flags = Object.fromEntries(Object.entries(out.flags as Record<string, unknown>).filter(([, v]) => v !== undefined && v !== false));
    return { args: out.args as Record<string, string>, flags: flags as ParsedCommandLine['flags'], argv: out.argv as string[] };
  } catch {
    return null;
  }
}

/** Every way each flag can be written, and operands of every shape the verbs see. */
function tokens(cmd: ManifestCommand): string[] {
  const flags = Object.values(cmd.flags);
  const chars = flags.map((f) => f.char).filter((c): c is string => c !== undefined);
  return [
    ...flags.flatMap((f) => [`--${f.name}`, `--no-${f.name}`, `--${f.name}=x`, ...(f.aliases ?? []).map((a) => `--${a}`)]),
    ...chars.map((c) => `-${c}`),
    ...chars.flatMap((c) => chars.map((d) => `-${c}${d}`)),
    ...chars.map((c) => `-${c}x`),
    'web', '3', '0-1', 'all', '-', 'a=b', 'name="x"', '-1', '--', '-h', '--help', '--json', '--nope', '-x',
  ];
}

for (const verb of verbs) {
  test(`${verb}: what the fast path parses, oclif parses the same`, async (t) => {
    const cmd = manifest.commands[verb];
    if (cmd === undefined) return t.fail(`${verb} is not in oclif.manifest.json: run npm run build`);
    const cls = await commandClass(verb);
    const pool = tokens(cmd);
    let taken = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...pool), { maxLength: 6 }), async (argv) => {
        const mine = parseLikeOclif(cmd, argv);
        if (mine === null) return;
        taken++;
        t.deepEqual(mine, await oclifParse(cls, argv), argv.join(' '));
      }),
      // The plain form (its required operands) among them, whatever the random draw.
      { numRuns: 300, examples: [[Object.values(cmd.args).filter((a) => a.required === true).map(() => 'web')]] },
    );
    t.true(taken > 0, 'some command lines were taken');
  });
}

test('the plain forms are taken; help, --json and usage errors are left to oclif', (t) => {
  const take = (line: string): ParsedCommandLine | null => {
    const [verb, ...argv] = line.split(' ');
    return parseLikeOclif(manifest.commands[verb!]!, argv);
  };
  for (const line of [
    'list', 'list -l', 'list -lv web', 'list --long web', 'info', 'info free_memory', 'domid web', 'domname 0', 'uptime -s web db',
    'vcpu-list', 'vcpu-set web 2', 'vcpu-pin web all 0-1 -', 'mem-set web 1g', 'mem-max web 2048', 'pause web', 'unpause web',
    'shutdown -w web', 'reboot -a', 'destroy web', 'rename web web2', 'dmesg', 'dmesg web', 'create configs/web.yaml',
    'create -p -q configs/web.yaml memory=256', 'create -f configs/web.yaml', 'create -fconfigs/web.yaml', 'create --dryrun configs/web.yaml',
  ]) {
    t.not(take(line), null, line);
  }
  for (const line of ['list --help', 'list -h', 'list --json', 'domid', 'domid a b', 'list -- web', 'list --long=1', 'create -f', 'create -f a -f b', 'domname -1', 'list -x']) {
    t.is(take(line), null, line);
  }
  t.deepEqual(take('create -pn configs/web.yaml memory=256'), {
    args: { config: 'configs/web.yaml' },
    flags: { paused: true, 'dry-run': true },
    argv: ['configs/web.yaml', 'memory=256'],
  });
});
