/**
 * The `xenemu <verb>` commands of the xl family, once for both ways they run: each
 * entry turns a parsed command line (oclif's, or the fast path's identical one, see
 * src/cli/oclif-argv.ts) into the call of its function in xl-commands.ts. The oclif
 * command (commands/<verb>.ts) declares the flags and args, for help and the manifest;
 * this table says what they mean. A new xl verb is one command file and one entry.
 *
 * xl-commands.ts is only a type here: the fast path loads this table to find out
 * whether a word is an xl verb before it pays for loading the commands.
 */

import type * as XlCommands from './xl-commands.js';
import type { XlContext, XlOutput } from './xl-commands.js';
import type { XlCdInsertResult } from './xl-cdrom.js';
import type { XlRestoreResult, XlSaveResult } from './xl-saverestore.js';

/** A parsed command line, as oclif's parse() returns it (the parts read here). */
export interface VerbInput {
  args: Readonly<Record<string, string | undefined>>;
  flags: Readonly<Record<string, unknown>>;
  argv: readonly unknown[];
}

export interface XlVerb<T> {
  run(xl: typeof XlCommands, ctx: XlContext, p: VerbInput): Promise<XlOutput<T>>;
  /** A usage error oclif reports before running (exit 2); the fast path leaves those to oclif. */
  usage?(p: VerbInput): string | undefined;
  /** The boolean flag that xl's global -v (`xenemu -v VERB ...`) turns on, if the verb has one. */
  globalVerbose?: string;
}

const on = (p: VerbInput, flag: string): boolean => p.flags[flag] === true;
const str = (p: VerbInput, flag: string): string | undefined => (typeof p.flags[flag] === 'string' ? p.flags[flag] : undefined);
/** A required arg (oclif has checked it is there). */
const arg = (p: VerbInput, name: string): string => p.args[name] ?? '';
/** An optional arg as an optional property. */
const opt = <K extends string>(key: K, value: string | undefined): { [P in K]?: string } => (value === undefined ? {} : ({ [key]: value } as { [P in K]: string }));
const operands = (p: VerbInput): string[] => p.argv.map(String);

/** create: KEY=VALUE operands are settings, the other one is the config file (or -f). */
const createFiles = (p: VerbInput): string[] => operands(p).filter((a) => !a.includes('='));

const shutdownLike = (reboot: boolean): XlVerb<XlCommands.XlShutdownResult[]> => ({
  run: (xl, ctx, p) => xl.xlShutdown(ctx, { reboot, all: on(p, 'all'), wait: on(p, 'wait'), ...opt('domain', p.args.domain) }),
});

export const XL_VERBS = {
  create: {
    usage: (p) => (createFiles(p).length + (str(p, 'defconfig') !== undefined ? 1 : 0) > 1 ? 'give one config file: CONFIG or -f FILE' : undefined),
    globalVerbose: 'verbose',
    run: async (xl, ctx, p) => {
      const out = await xl.xlCreate(ctx, {
        ...opt('file', str(p, 'defconfig') ?? createFiles(p)[0]),
        overrides: operands(p).filter((a) => a.includes('=')),
        paused: on(p, 'paused'),
        dryRun: on(p, 'dry-run'),
        quiet: on(p, 'quiet'),
        debug: on(p, 'debug'),
        verbose: on(p, 'verbose'),
      });
      // -c: the console of the new domain, until it is detached or the domain goes.
      if (on(p, 'console') && !out.data.dryRun) await (await import('./xl-console.js')).xlCreateConsole(ctx, out.data.domid);
      return out;
    },
  } satisfies XlVerb<XlCommands.XlCreateResult>,
  list: {
    run: (xl, ctx, p) =>
      xl.xlList(ctx, { domains: operands(p), long: on(p, 'long'), verbose: on(p, 'verbose'), context: on(p, 'context'), cpupool: on(p, 'cpupool'), numa: on(p, 'numa') }),
  } satisfies XlVerb<XlCommands.XlListResult>,
  destroy: { run: (xl, ctx, p) => xl.xlDestroy(ctx, { domain: arg(p, 'domain'), force: on(p, 'force') }) } satisfies XlVerb<{ domid: number }>,
  shutdown: shutdownLike(false),
  reboot: shutdownLike(true),
  pause: { run: (xl, ctx, p) => xl.xlPause(ctx, { domain: arg(p, 'domain'), unpause: false }) } satisfies XlVerb<{ domid: number }>,
  unpause: { run: (xl, ctx, p) => xl.xlPause(ctx, { domain: arg(p, 'domain'), unpause: true }) } satisfies XlVerb<{ domid: number }>,
  rename: { run: (xl, ctx, p) => xl.xlRename(ctx, { domain: arg(p, 'domain'), newName: arg(p, 'newName') }) } satisfies XlVerb<{ domid: number; name: string }>,
  domid: { run: (xl, ctx, p) => xl.xlDomid(ctx, { name: arg(p, 'name') }) } satisfies XlVerb<{ domid: number }>,
  domname: { run: (xl, ctx, p) => xl.xlDomname(ctx, { domid: arg(p, 'id') }) } satisfies XlVerb<{ name: string }>,
  info: { run: (xl, ctx, p) => xl.xlInfo(ctx, { numa: on(p, 'numa'), ...opt('only', p.args.name) }) } satisfies XlVerb<unknown>,
  uptime: { run: (xl, ctx, p) => xl.xlUptime(ctx, { domains: operands(p), short: on(p, 'short') }) } satisfies XlVerb<unknown>,
  'debug-keys': { run: (xl, ctx, p) => xl.xlDebugKeys(ctx, { keys: arg(p, 'keys') }) } satisfies XlVerb<{ keys: string }>,
  dmesg: { run: (xl, ctx, p) => xl.xlDmesg(ctx, { clear: on(p, 'clear'), ...opt('domain', p.args.domain) }) } satisfies XlVerb<{ lines: string[] }>,
  'vcpu-list': { run: (xl, ctx, p) => xl.xlVcpuList(ctx, { domains: operands(p), long: on(p, 'long') }) } satisfies XlVerb<unknown>,
  'vcpu-set': {
    run: (xl, ctx, p) => xl.xlVcpuSet(ctx, { domain: arg(p, 'domain'), count: arg(p, 'count'), ignoreHost: on(p, 'ignore-host') }),
  } satisfies XlVerb<{ domid: number; vcpus: number }>,
  'vcpu-pin': {
    run: (xl, ctx, p) =>
      xl.xlVcpuPin(ctx, {
        domain: arg(p, 'domain'),
        vcpu: arg(p, 'vcpu'),
        hard: arg(p, 'hard'),
        ...opt('soft', p.args.soft),
        force: on(p, 'force'),
        ignoreMasks: on(p, 'ignore-global-affinity-masks'),
        dryRun: on(p, 'dry-run'),
      }),
  } satisfies XlVerb<XlCommands.XlVcpuPinResult>,
  'mem-set': { run: (xl, ctx, p) => xl.xlMem(ctx, { domain: arg(p, 'domain'), size: arg(p, 'size'), max: false }) } satisfies XlVerb<{ domid: number; kib: number }>,
  'mem-max': { run: (xl, ctx, p) => xl.xlMem(ctx, { domain: arg(p, 'domain'), size: arg(p, 'size'), max: true }) } satisfies XlVerb<{ domid: number; kib: number }>,
  sysrq: { run: (xl, ctx, p) => xl.xlSysrq(ctx, { domain: arg(p, 'domain'), key: arg(p, 'key') }) } satisfies XlVerb<{ domid: number; key: string }>,
  trigger: {
    run: (xl, ctx, p) => xl.xlTrigger(ctx, { domain: arg(p, 'domain'), trigger: arg(p, 'trigger'), ...opt('vcpu', p.args.vcpu) }),
  } satisfies XlVerb<{ domid: number; trigger: string; vcpu: number }>,
  'button-press': {
    run: (xl, ctx, p) => {
      ctx.note(xl.BUTTON_PRESS_DEPRECATED);
      return xl.xlButtonPress(ctx, { domain: arg(p, 'domain'), button: arg(p, 'button') });
    },
  } satisfies XlVerb<{ domid: number; trigger: string; vcpu: number }>,
  'vm-list': { run: (xl, ctx) => xl.xlVmList(ctx) } satisfies XlVerb<Array<{ uuid: string; domid: number; name: string | null }>>,
  // xl_console.c's verb lives in xl-console.ts, loaded only when it runs.
  console: {
    run: async (_xl, ctx, p) => (await import('./xl-console.js')).xlConsole(ctx, { domain: arg(p, 'domain'), ...opt('type', str(p, 'type')), ...opt('num', str(p, 'num')) }),
  } satisfies XlVerb<{ domid: number; end: string }>,
  // xl_migrate.c's verbs live in xl-migrate.ts, loaded only when one of them runs.
  migrate: {
    run: async (_xl, ctx, p) =>
      (await import('./xl-migrate.js')).xlMigrate(ctx, {
        domain: arg(p, 'domain'),
        host: arg(p, 'host'),
        ssh: str(p, 'ssh') ?? 'ssh',
        ...opt('config', str(p, 'config')),
        cwd: process.cwd(),
        debug: on(p, 'debug'),
        paused: on(p, 'paused'),
      }),
  } satisfies XlVerb<unknown>,
  'migrate-receive': {
    run: async (_xl, ctx, p) => (await import('./xl-migrate.js')).xlMigrateReceive(ctx, { paused: on(p, 'paused') }),
  } satisfies XlVerb<unknown>,
  // xl_saverestore.c's verbs live in xl-saverestore.ts, loaded only when one of them runs.
  save: {
    run: async (_xl, ctx, p) =>
      (await import('./xl-saverestore.js')).xlSave(ctx, {
        domain: arg(p, 'domain'),
        file: arg(p, 'file'),
        ...opt('config', p.args.config),
        checkpoint: on(p, 'checkpoint'),
        pause: on(p, 'pause'),
        preserveDomid: on(p, 'preserve-domid'),
        cwd: process.cwd(),
      }),
  } satisfies XlVerb<XlSaveResult>,
  restore: {
    run: async (_xl, ctx, p) => {
      // restore [CONFIG] FILE: with one operand it is the file.
      const [first, second] = [p.args.config, p.args.file];
      const out = await (await import('./xl-saverestore.js')).xlRestore(ctx, {
        file: second ?? first ?? '',
        ...opt('config', second !== undefined ? first : undefined),
        paused: on(p, 'paused'),
        debug: on(p, 'debug'),
        cwd: process.cwd(),
      });
      if (on(p, 'console')) await (await import('./xl-console.js')).xlCreateConsole(ctx, out.data.domid);
      return out;
    },
  } satisfies XlVerb<XlRestoreResult>,
  // xl_block.c's verbs live in xl-block.ts, loaded only when one of them runs.
  'block-attach': {
    run: async (_xl, ctx, p) =>
      (await import('./xl-block.js')).xlBlockAttach(ctx, { domain: arg(p, 'domain'), specs: operands(p).slice(1), cwd: process.cwd() }),
  } satisfies XlVerb<{ domid: number; devid: number }>,
  'block-list': {
    run: async (_xl, ctx, p) => (await import('./xl-block.js')).xlBlockList(ctx, { domains: operands(p), long: on(p, 'long') }),
  } satisfies XlVerb<unknown>,
  'block-detach': {
    run: async (_xl, ctx, p) => (await import('./xl-block.js')).xlBlockDetach(ctx, { domain: arg(p, 'domain'), vdev: arg(p, 'vdev'), force: on(p, 'force') }),
  } satisfies XlVerb<{ domid: number; devid: number }>,
  // xl_cdrom.c's verbs live in xl-cdrom.ts, loaded only when one of them runs.
  'cd-insert': {
    run: async (_xl, ctx, p) => (await import('./xl-cdrom.js')).xlCdInsert(ctx, { domain: arg(p, 'domain'), vdev: arg(p, 'vdev'), target: arg(p, 'target'), cwd: process.cwd() }),
  } satisfies XlVerb<XlCdInsertResult>,
  'cd-eject': {
    run: async (_xl, ctx, p) => (await import('./xl-cdrom.js')).xlCdInsert(ctx, { domain: arg(p, 'domain'), vdev: arg(p, 'vdev'), target: null, cwd: process.cwd() }),
  } satisfies XlVerb<XlCdInsertResult>,
  // xl_nic.c's verbs live in xl-network.ts, loaded only when one of them runs.
  'network-attach': {
    run: async (_xl, ctx, p) => (await import('./xl-network.js')).xlNetworkAttach(ctx, { domain: arg(p, 'domain'), specs: operands(p).slice(1), cwd: process.cwd() }),
  } satisfies XlVerb<{ domid: number; devid: number; mac: string }>,
  'network-list': {
    run: async (_xl, ctx, p) => (await import('./xl-network.js')).xlNetworkList(ctx, { domains: operands(p) }),
  } satisfies XlVerb<unknown>,
  'network-detach': {
    run: async (_xl, ctx, p) => (await import('./xl-network.js')).xlNetworkDetach(ctx, { domain: arg(p, 'domain'), dev: arg(p, 'dev') }),
  } satisfies XlVerb<{ domid: number; devid: number }>,
  // xl_sched.c's and xl_cpupool.c's verbs live in xl-sched.ts, loaded only when one of them runs.
  'sched-credit': {
    run: async (_xl, ctx, p) =>
      (await import('./xl-sched.js')).xlSchedCredit(ctx, {
        ...opt('domain', str(p, 'domain')),
        ...opt('weight', str(p, 'weight')),
        ...opt('cap', str(p, 'cap')),
        schedparam: on(p, 'schedparam'),
        ...opt('tslice', str(p, 'tslice_ms')),
        ...opt('ratelimit', str(p, 'ratelimit_us')),
        ...opt('migrDelay', str(p, 'migration_delay_us')),
        ...opt('cpupool', str(p, 'cpupool')),
      }),
  } satisfies XlVerb<unknown>,
  'sched-credit2': {
    run: async (_xl, ctx, p) =>
      (await import('./xl-sched.js')).xlSchedCredit2(ctx, {
        ...opt('domain', str(p, 'domain')),
        ...opt('weight', str(p, 'weight')),
        ...opt('cap', str(p, 'cap')),
        schedparam: on(p, 'schedparam'),
        ...opt('ratelimit', str(p, 'ratelimit_us')),
        ...opt('cpupool', str(p, 'cpupool')),
      }),
  } satisfies XlVerb<unknown>,
  'cpupool-list': {
    run: async (_xl, ctx, p) => (await import('./xl-sched.js')).xlCpupoolList(ctx, { cpus: on(p, 'cpus'), ...opt('pool', p.args.pool) }),
  } satisfies XlVerb<unknown>,
} as const;

export type XlVerbName = keyof typeof XL_VERBS;

/** The data a verb returns (what --json prints). */
export type XlVerbData<K extends XlVerbName> = Awaited<ReturnType<(typeof XL_VERBS)[K]['run']>>['data'];

export function isXlVerb(word: string | undefined): word is XlVerbName {
  return word !== undefined && Object.hasOwn(XL_VERBS, word);
}

/**
 * xl's global -v before a verb: `xenemu -v create X` is `xenemu create --verbose X`
 * for a verb whose own flag means the same (XL_VERBS' globalVerbose), and is dropped
 * before the others, as xl's -v changes only libxl's logging. `xenemu -v` with no
 * command after it is left alone: oclif prints the version.
 */
export function applyGlobalVerbose(argv: readonly string[]): string[] {
  let i = 0;
  while (i < argv.length && /^-v+$/.test(argv[i]!)) i++;
  const verb = argv[i];
  if (i === 0 || verb === undefined || verb.startsWith('-')) return [...argv];
  const flag = isXlVerb(verb) ? (XL_VERBS[verb] as XlVerb<unknown>).globalVerbose : undefined;
  return [verb, ...(flag !== undefined ? [`--${flag}`] : []), ...argv.slice(i + 1)];
}
