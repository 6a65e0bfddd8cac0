/**
 * The `xl` compatibility shim (bin/xl.js): xl's command line, messages and exit
 * statuses, running xenemu's commands (xl-commands.ts, the same code as
 * `xenemu <verb>`) against the host daemon of $XENEMU_HOME.
 *
 * main() of tools/xl/xl.c: global options by getopt("+vfNtT") (a bad one prints
 * glibc's complaint, "unknown global option", status 1), then the subcommand, found
 * by cmdtable_lookup() (a unique prefix is enough), "help", or "command not
 * implemented" (status 1). -N is honoured by the commands that can dry-run and
 * refused by the others; -v, -f, -t and -T are accepted and change nothing here.
 * Commands of xl's table that xenemu does not emulate say so and exit 1.
 *
 * Deliberately not loaded: oclif, and until `create` needs it, the config reader
 * (zod, yaml); the daemon starter only when no daemon answers.
 */

import { XenemuError } from '../common/errors.js';
import { resolveHome, statePaths } from '../state/state-dir.js';
import {
  CHANNEL_LIST_HEADER,
  COMMAND_NOT_IMPLEMENTED,
  formatCommandHelp,
  formatHelpList,
  lookupCommand,
  NO_DRYRUN,
  UNKNOWN_GLOBAL_OPTION,
  VKB_LIST_HEADER,
  VTPM_LIST_HEADER,
  XENEMU_XL_COMMANDS,
  XL_REQUIRED_ARGS,
  type XenemuXlCommand,
} from '../ui/xl/index.js';
import { getoptLong, type LongOption } from './getopt.js';
import { invokedAs } from './invoked-as.js';
import {
  XlFailure,
  XlSession,
  BUTTON_PRESS_DEPRECATED,
  xlButtonPress,
  xlCreate,
  xlDestroy,
  xlDebugKeys,
  xlDmesg,
  xlDomid,
  xlDomname,
  xlInfo,
  xlList,
  xlMem,
  xlPause,
  xlRename,
  xlShutdown,
  xlSysrq,
  xlTrigger,
  xlUptime,
  xlVcpuList,
  xlVcpuPin,
  xlVcpuSet,
  xlVmList,
  type XlContext,
  type XlOutput,
} from './xl-commands.js';
import { isXlExit, xlGetopt, type ParsedXlArgs, type XlExit } from './xl-getopt.js';
import { xlBlockAttach, xlBlockDetach, xlBlockList } from './xl-block.js';
import { xlNetworkAttach, xlNetworkDetach, xlNetworkList } from './xl-network.js';
import { xlMigrate, xlMigrateReceive } from './xl-migrate.js';
import { xlRestore, xlSave } from './xl-saverestore.js';
import { xlClaims, xlGetenforce, xlListOrExit, xlListOrSkip, xlPciAssignableList, xlPciList, xlUsbList } from './xl-listers.js';
import { xlCpupoolList, xlSchedCredit, xlSchedCredit2, xlSchedRtds } from './xl-sched.js';

interface Globals {
  dryRun: boolean;
  /** -v: xl's verbosity; here it also shows xenemu's notes on a config. */
  verbose: boolean;
}

type Runner = (ctx: XlContext, p: ParsedXlArgs, g: Globals) => Promise<XlOutput<unknown>> | XlExit;

interface CommandSpec {
  optstring: string;
  longopts: readonly LongOption[];
  run: Runner;
  /** false: the main_* calls no getopt (no -h, no option refused); every argument is an operand. */
  getopt?: false;
  /** What the command prints on stderr before it parses its arguments. */
  before?: string;
}

const has = (p: ParsedXlArgs, opt: string): boolean => p.options.some((o) => o.opt === opt);
const long = (name: string, short: string, hasArg = false): LongOption => ({ name, short, hasArg });
/**
 * Options kept as C keeps `x = optarg` in its loop: the last one given counts (an
 * option without an argument sets NULL, so none). Each key names its option letter.
 */
function last<K extends string>(p: ParsedXlArgs, letters: Record<K, string>): { [P in K]?: string } {
  const out: { [P in K]?: string } = {};
  for (const [key, letter] of Object.entries(letters) as [K, string][]) {
    const arg = p.options.findLast((o) => o.opt === letter)?.arg;
    if (arg !== undefined) out[key] = arg;
  }
  return out;
}

/** Each command's SWITCH_FOREACH_OPT: option string, long options, and what it runs. */
const COMMANDS: Record<Exclude<XenemuXlCommand, 'create' | 'top'>, CommandSpec> = {
  list: {
    optstring: 'lvhZcn',
    longopts: [long('long', 'l'), long('verbose', 'v'), long('context', 'Z'), long('cpupool', 'c'), long('numa', 'n')],
    run: (ctx, p) => xlList(ctx, { domains: p.operands, long: has(p, 'l'), verbose: has(p, 'v'), context: has(p, 'Z'), cpupool: has(p, 'c'), numa: has(p, 'n') }),
  },
  destroy: { optstring: 'f', longopts: [], run: (ctx, p) => xlDestroy(ctx, { domain: p.operands[0]!, force: has(p, 'f') }) },
  shutdown: {
    optstring: 'awF',
    longopts: [long('all', 'a'), long('wait', 'w')],
    run: (ctx, p) => xlShutdown(ctx, { reboot: false, all: has(p, 'a'), wait: has(p, 'w'), ...(p.operands[0] !== undefined ? { domain: p.operands[0] } : {}) }),
  },
  reboot: {
    optstring: 'awF',
    longopts: [long('all', 'a'), long('wait', 'w')],
    run: (ctx, p) => xlShutdown(ctx, { reboot: true, all: has(p, 'a'), wait: has(p, 'w'), ...(p.operands[0] !== undefined ? { domain: p.operands[0] } : {}) }),
  },
  pause: { optstring: '', longopts: [], run: (ctx, p) => xlPause(ctx, { domain: p.operands[0]!, unpause: false }) },
  unpause: { optstring: '', longopts: [], run: (ctx, p) => xlPause(ctx, { domain: p.operands[0]!, unpause: true }) },
  console: {
    optstring: 'n:t:',
    longopts: [],
    run: async (ctx, p) => (await import('./xl-console.js')).xlConsole(ctx, { domain: p.operands[0]!, ...last(p, { type: 't', num: 'n' }) }),
  },
  // --debug and --live have no short option (0x100, 0x200 in xl_migrate.c).
  migrate: {
    optstring: 'FC:s:epD',
    longopts: [long('debug', '\u0100'), long('live', '\u0200')],
    run: (ctx, p) => {
      const { config, ssh } = last(p, { config: 'C', ssh: 's' });
      return xlMigrate(ctx, { domain: p.operands[0]!, host: p.operands[1]!, ssh: ssh ?? 'ssh', ...(config !== undefined ? { config } : {}), cwd: process.cwd(), debug: has(p, '\u0100'), paused: has(p, 'p') });
    },
  },
  'migrate-receive': { optstring: 'Fedrp', longopts: [], run: (ctx, p) => xlMigrateReceive(ctx, { paused: has(p, 'p') }) },
  save: {
    optstring: 'cpD',
    longopts: [],
    run: (ctx, p) => {
      // main_save(): DOM FILE [CONFIG]; more prints the help, status 1.
      if (p.operands.length > 3) return { stdout: formatCommandHelp('save'), stderr: '', code: 1 };
      const [domain, file, config] = p.operands;
      return xlSave(ctx, { domain: domain!, file: file ?? '', ...(config !== undefined ? { config } : {}), checkpoint: has(p, 'c'), pause: has(p, 'p'), preserveDomid: has(p, 'D'), cwd: process.cwd() });
    },
  },
  restore: {
    optstring: 'FcpdeVA',
    longopts: [long('vncviewer', 'V'), long('vncviewer-autopass', 'A')],
    run: (ctx, p) => {
      // main_restore(): FILE or CONFIG FILE, else the help, status 1.
      if (p.operands.length < 1 || p.operands.length > 2) return { stdout: formatCommandHelp('restore'), stderr: '', code: 1 };
      if (has(p, 'V') || has(p, 'A')) ctx.note('xenemu: -V/-A: the emulated guests have no VNC display\n');
      const [file, config] = p.operands.length === 2 ? [p.operands[1]!, p.operands[0]] : [p.operands[0]!, undefined];
      const restored = xlRestore(ctx, { file, ...(config !== undefined ? { config } : {}), paused: has(p, 'p'), debug: has(p, 'd'), cwd: process.cwd() });
      if (!has(p, 'c')) return restored;
      return restored.then(async (out) => {
        await (await import('./xl-console.js')).xlCreateConsole(ctx, out.data.domid);
        return out;
      });
    },
  },
  // xl_cdrom.c's verbs live in xl-cdrom.ts, loaded only when one of them runs.
  'cd-insert': {
    optstring: '',
    longopts: [],
    run: async (ctx, p) => (await import('./xl-cdrom.js')).xlCdInsert(ctx, { domain: p.operands[0]!, vdev: p.operands[1]!, target: p.operands[2]!, cwd: process.cwd() }),
  },
  'cd-eject': {
    optstring: '',
    longopts: [],
    run: async (ctx, p) => (await import('./xl-cdrom.js')).xlCdInsert(ctx, { domain: p.operands[0]!, vdev: p.operands[1]!, target: null, cwd: process.cwd() }),
  },
  'button-press': { optstring: '', longopts: [], before: BUTTON_PRESS_DEPRECATED, run: (ctx, p) => xlButtonPress(ctx, { domain: p.operands[0]!, button: p.operands[1]! }) },
  'vm-list': { optstring: '', longopts: [], run: (ctx) => xlVmList(ctx) },
  'mem-max': { optstring: '', longopts: [], run: (ctx, p) => xlMem(ctx, { domain: p.operands[0]!, size: p.operands[1]!, max: true }) },
  'mem-set': { optstring: '', longopts: [], run: (ctx, p) => xlMem(ctx, { domain: p.operands[0]!, size: p.operands[1]!, max: false }) },
  // -l is xenemu's (the vcpu_info column); xl's vcpu-list has no options.
  'vcpu-list': { optstring: 'l', longopts: [long('long', 'l')], run: (ctx, p) => xlVcpuList(ctx, { domains: p.operands, long: has(p, 'l') }) },
  'vcpu-pin': {
    optstring: 'fi',
    longopts: [long('force', 'f'), long('ignore-global-affinity-masks', 'i')],
    run: (ctx, p, g) =>
      xlVcpuPin(ctx, {
        domain: p.operands[0]!,
        vcpu: p.operands[1]!,
        hard: p.operands[2]!,
        ...(p.operands[3] !== undefined ? { soft: p.operands[3] } : {}),
        force: has(p, 'f'),
        ignoreMasks: has(p, 'i'),
        dryRun: g.dryRun,
      }),
  },
  'vcpu-set': {
    optstring: 'i',
    longopts: [long('ignore-host', 'i')],
    run: (ctx, p) => xlVcpuSet(ctx, { domain: p.operands[0]!, count: p.operands[1]!, ignoreHost: has(p, 'i') }),
  },
  info: {
    optstring: 'n',
    longopts: [long('numa', 'n')],
    run: (ctx, p) => xlInfo(ctx, { numa: has(p, 'n'), ...(p.operands[0] !== undefined ? { only: p.operands[0] } : {}) }),
  },
  domid: { optstring: '', longopts: [], run: (ctx, p) => xlDomid(ctx, { name: p.operands[0]! }) },
  domname: { optstring: '', longopts: [], run: (ctx, p) => xlDomname(ctx, { domid: p.operands[0]! }) },
  rename: { optstring: '', longopts: [], run: (ctx, p) => xlRename(ctx, { domain: p.operands[0]!, newName: p.operands[1]! }) },
  dmesg: {
    optstring: 'c',
    longopts: [long('clear', 'c')],
    run: (ctx, p) => xlDmesg(ctx, { clear: has(p, 'c'), ...(p.operands[0] !== undefined ? { domain: p.operands[0] } : {}) }),
  },
  'debug-keys': { optstring: '', longopts: [], run: (ctx, p) => xlDebugKeys(ctx, { keys: p.operands[0]! }) },
  uptime: { optstring: 's', longopts: [], run: (ctx, p) => xlUptime(ctx, { domains: p.operands, short: has(p, 's') }) },
  sysrq: { optstring: '', longopts: [], run: (ctx, p) => xlSysrq(ctx, { domain: p.operands[0]!, key: p.operands[1]! }) },
  trigger: {
    optstring: '',
    longopts: [],
    run: (ctx, p) => xlTrigger(ctx, { domain: p.operands[0]!, trigger: p.operands[1]!, ...(p.operands[2] !== undefined ? { vcpu: p.operands[2] } : {}) }),
    },
  'block-attach': {
    optstring: '',
    longopts: [],
    run: (ctx, p, g) => xlBlockAttach(ctx, { domain: p.operands[0]!, specs: p.operands.slice(1), cwd: process.cwd(), dryRun: g.dryRun }),
  },
  // -l is xenemu's (the long table); xl's block-list has no options.
  'block-list': { optstring: 'l', longopts: [long('long', 'l')], run: (ctx, p) => xlBlockList(ctx, { domains: p.operands, long: has(p, 'l') }) },
  'block-detach': {
    optstring: 'f',
    longopts: [long('force', 'f')],
    run: (ctx, p) => xlBlockDetach(ctx, { domain: p.operands[0]!, vdev: p.operands[1]!, force: has(p, 'f') }),
  },
  'network-attach': { optstring: '', longopts: [], run: (ctx, p, g) => xlNetworkAttach(ctx, { domain: p.operands[0]!, specs: p.operands.slice(1), cwd: process.cwd(), dryRun: g.dryRun }) },
  'network-list': { optstring: '', longopts: [], run: (ctx, p) => xlNetworkList(ctx, { domains: p.operands }) },
  'network-detach': { optstring: '', longopts: [], run: (ctx, p) => xlNetworkDetach(ctx, { domain: p.operands[0]!, dev: p.operands[1]! }) },
  // The listers of what the emulated host has none of (xl-listers.ts).
  'pci-list': { optstring: '', longopts: [], run: (ctx, p) => xlPciList(ctx, { domain: p.operands[0]! }) },
  'pci-assignable-list': { optstring: 'n', longopts: [long('show-names', 'n')], run: (ctx) => xlPciAssignableList(ctx) },
  'usb-list': { optstring: '', longopts: [], run: (ctx, p) => xlUsbList(ctx, { domain: p.operands[0]!, extra: p.operands.length - 1 }) },
  'vtpm-list': { optstring: '', longopts: [], run: (ctx, p) => xlListOrSkip(ctx, p.operands, VTPM_LIST_HEADER) },
  'vkb-list': { optstring: '', longopts: [], run: (ctx, p) => xlListOrExit(ctx, p.operands, VKB_LIST_HEADER) },
  'vdispl-list': { optstring: '', longopts: [], run: (ctx, p) => xlListOrSkip(ctx, p.operands) },
  'vsnd-list': { optstring: '', longopts: [], run: (ctx, p) => xlListOrSkip(ctx, p.operands) },
  'channel-list': { optstring: '', longopts: [], run: (ctx, p) => xlListOrExit(ctx, p.operands, CHANNEL_LIST_HEADER) },
  claims: { optstring: '', longopts: [], run: (ctx) => xlClaims(ctx) },
  getenforce: { optstring: '', longopts: [], getopt: false, run: (ctx) => xlGetenforce(ctx) },
  'sched-credit': {
    optstring: 'd:w:c:p:t:r:m:s',
    longopts: [
      long('domain', 'd', true),
      long('weight', 'w', true),
      long('cap', 'c', true),
      long('schedparam', 's'),
      long('tslice_ms', 't', true),
      long('ratelimit_us', 'r', true),
      long('migration_delay_us', 'm', true),
      long('cpupool', 'p', true),
    ],
    run: (ctx, p) =>
      xlSchedCredit(ctx, {
        ...last(p, { domain: 'd', weight: 'w', cap: 'c', tslice: 't', ratelimit: 'r', migrDelay: 'm', cpupool: 'p' }),
        schedparam: has(p, 's'),
      }),
  },
  'sched-credit2': {
    optstring: 'd:w:c:p:r:s',
    longopts: [long('domain', 'd', true), long('weight', 'w', true), long('cap', 'c', true), long('schedparam', 's'), long('ratelimit_us', 'r', true), long('cpupool', 'p', true)],
    run: (ctx, p) => xlSchedCredit2(ctx, { ...last(p, { domain: 'd', weight: 'w', cap: 'c', ratelimit: 'r', cpupool: 'p' }), schedparam: has(p, 's') }),
  },
  // "c" takes no argument in xl's optstring, though --cpupool does.
  'sched-rtds': {
    optstring: 'd:p:b:e:v:c',
    longopts: [long('domain', 'd', true), long('period', 'p', true), long('budget', 'b', true), long('extratime', 'e', true), long('vcpuid', 'v', true), long('cpupool', 'c', true)],
    run: (ctx, p) => {
      const every = (o: string): string[] => p.options.filter((x) => x.opt === o).map((x) => x.arg ?? '');
      return xlSchedRtds(ctx, { ...last(p, { domain: 'd', cpupool: 'c' }), vcpus: every('v'), periods: every('p'), budgets: every('b'), extratimes: every('e') });
    },
  },
  'cpupool-list': {
    optstring: 'c',
    longopts: [long('cpus', 'c')],
    run: (ctx, p) => xlCpupoolList(ctx, { cpus: has(p, 'c'), ...(p.operands[0] !== undefined ? { pool: p.operands[0] } : {}) }),
  },
};

const CREATE_LONGOPTS: readonly LongOption[] = [
  long('dryrun', 'n'),
  long('quiet', 'q'),
  long('defconfig', 'f', true),
  long('vncviewer', 'V'),
  long('vncviewer-autopass', 'A'),
  long('ignore-global-affinity-masks', 'i'),
];

/**
 * main_create(): a first argument that is neither an option nor KEY=VALUE is the
 * config file, taken before getopt; after the options, KEY=VALUE operands are
 * settings, one more operand is the file, and another one prints the help, status 2.
 */
function runCreate(ctx: XlContext, argv: readonly string[], g: Globals, env: NodeJS.ProcessEnv): Promise<XlOutput<unknown>> | XlExit {
  let file: string | undefined;
  let rest = argv;
  const first = argv[1];
  if (first !== undefined && !first.startsWith('-') && !first.includes('=')) {
    file = first;
    rest = argv.slice(1);
  }
  const p = xlGetopt('create', rest, 'Fnqf:pcdeVAi', CREATE_LONGOPTS, 0, env);
  if (isXlExit(p)) return p;
  const overrides: string[] = [];
  for (const o of p.options) if (o.opt === 'f') file = o.arg;
  for (const operand of p.operands) {
    if (operand.includes('=')) overrides.push(operand);
    else if (file === undefined) file = operand;
    else return { stdout: formatCommandHelp('create'), stderr: '', code: 2 };
  }
  if (has(p, 'V') || has(p, 'A')) ctx.note('xenemu: -V/-A: the emulated guests have no VNC display\n');
  const created = xlCreate(ctx, {
    ...(file !== undefined ? { file } : {}),
    overrides,
    paused: has(p, 'p'),
    dryRun: g.dryRun || has(p, 'n'),
    quiet: has(p, 'q'),
    debug: has(p, 'd'),
    verbose: g.verbose,
  });
  if (!has(p, 'c')) return created;
  // -c: the new domain's console, until it is detached or the domain goes.
  return created.then(async (out) => {
    if (!out.data.dryRun) await (await import('./xl-console.js')).xlCreateConsole(ctx, out.data.domid);
    return out;
  });
}

/**
 * main_top(): no options, then `return system("xentop")`, whose wait status exit() cuts
 * to 0 whatever xentop did. The xentop is xenemu's own, run in this process: a real one
 * only works on a Xen host, where this xl would not be the one running.
 */
function runTop(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<XlOutput<unknown>> | XlExit {
  const p = xlGetopt('top', argv, '', [], 0, env);
  if (isXlExit(p)) return p;
  return import('./xentop-main.js').then(async ({ xentopMain }) => {
    await xentopMain('xentop', [], env);
    return { stdout: '', data: null };
  });
}

/** What an unexpected error says: the daemon's answer or why it could not be reached. */
function explain(err: unknown): XlExit {
  if (err instanceof XlFailure) return { stdout: err.stdout, stderr: err.stderr, code: err.exitStatus };
  if (err instanceof XenemuError) return { stdout: '', stderr: `${err.cliMessage()}\n`, code: err.exitStatus };
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ENOENT') return { stdout: '', stderr: `xenemu: cannot reach the xenemu daemon: ${e.message}\n`, code: 1 };
  // A bug of ours (or an answer the formatters refuse): one line, not a stack trace.
  if (err instanceof Error) return { stdout: '', stderr: `xenemu: internal error: ${err.message}\n`, code: 1 };
  throw err;
}

/**
 * Run `xl ARGS` as invoked through `scriptPath`; the result says what to print. `note`
 * receives what xl writes to stderr while it works, at once.
 */
export async function xlRun(argv0: string, args: readonly string[], note: (text: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<XlExit> {
  const globals: Globals = { dryRun: false, verbose: false };
  // Global options stop at the first operand ("+"); glibc complains under argv[0].
  const g = getoptLong([argv0, ...args], '+vfNtT', [], env);
  let step = g.next();
  for (; !step.done; step = g.next()) {
    if (step.value.kind === 'error') return { stdout: '', stderr: `${step.value.diagnostic}\n${UNKNOWN_GLOBAL_OPTION}`, code: 1 };
    if (step.value.opt === 'N') globals.dryRun = true;
    if (step.value.opt === 'v') globals.verbose = true;
  }
  const rest = step.value;
  const cmd = rest[0];
  if (cmd === undefined) return { stdout: formatHelpList(), stderr: '', code: 1 };
  const spec = lookupCommand(cmd);
  if (spec === undefined) {
    if (cmd === 'help') return { stdout: rest[1] === undefined ? formatHelpList() : formatCommandHelp(rest[1]), stderr: '', code: 0 };
    return { stdout: '', stderr: COMMAND_NOT_IMPLEMENTED, code: 1 };
  }
  if (globals.dryRun && !spec.canDryrun) return { stdout: '', stderr: NO_DRYRUN, code: 1 };
  const name = spec.name as XenemuXlCommand;
  if (!(XENEMU_XL_COMMANDS as readonly string[]).includes(name)) {
    return { stdout: '', stderr: `command "${spec.name}" not implemented (xenemu emulates ${XENEMU_XL_COMMANDS.join(', ')})\n`, code: 1 };
  }

  const session = new XlSession(statePaths(resolveHome(env)), note);
  try {
    let result: Promise<XlOutput<unknown>> | XlExit;
    if (name === 'create') {
      result = runCreate(session, rest, globals, env);
    } else if (name === 'top') {
      result = runTop(rest, env);
    } else {
      const c = COMMANDS[name];
      if (c.before !== undefined) note(c.before);
      const parsed = c.getopt === false ? { options: [], operands: rest.slice(1) } : xlGetopt(name, rest, c.optstring, c.longopts, XL_REQUIRED_ARGS[name], env);
      result = isXlExit(parsed) ? parsed : c.run(session, parsed, globals);
    }
    if (!(result instanceof Promise)) return result;
    const out = await result;
    return { stdout: out.stdout, stderr: '', code: 0 };
  } catch (err) {
    return explain(err);
  } finally {
    session.close();
  }
}

/** bin/xl.js: run, print, and return the exit status. */
export async function xlMain(scriptPath: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(141);
    throw err;
  });
  const r = await xlRun(invokedAs(scriptPath, env), args, (text) => process.stderr.write(text), env);
  if (r.stdout !== '') await new Promise<void>((done) => process.stdout.write(r.stdout, () => done()));
  if (r.stderr !== '') process.stderr.write(r.stderr);
  return r.code;
}
