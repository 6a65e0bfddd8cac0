/**
 * The xl-like commands, once: what `xenemu <verb>` (commands/*.ts, oclif) and the
 * `xl` shim (bin/xl.js → xl-main.ts) both run after parsing their command lines.
 * Each function takes parsed options, talks to the daemon through DomainClient, and
 * returns the text xl prints on stdout together with the data it was rendered from
 * (what --json prints). What xl prints on stderr as it goes ("Parsing config from
 * FILE", "Shutting down domain 3") goes through `ctx.note` in xl's order; a failure
 * is an XlFailure carrying xl's stderr text and exit status, plus whatever xl had
 * already printed on stdout by then.
 *
 * The behaviour follows xl 4.17 (tools/xl/xl_vmcontrol.c, xl_info.c, xl_vcpu.c,
 * xl_mem.c, xl_misc.c, xl_utils.c), checked against the real binary where it runs
 * without a hypervisor. Where xl reports a libxl failure, libxl's own log lines
 * (file:line:function: ...) are replaced by one "xenemu: <reason>" line from the
 * daemon; xl's summary line after it is kept as xl prints it.
 */

import { closeSync, fstatSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { DomainClient, isRpcError } from '../client/domains.js';
import { RpcCallError } from '../client/rpc-client.js';
import { strerror } from '../client/strerror.js';
import type { StatePaths } from '../state/state-dir.js';
import type { DomainConfig, GivenKeys } from '../toolstack/config/index.js';
import type { ConfigIssue } from '../toolstack/config/issues.js';
// The formatters by module, not through ui/xl/index.js: a command loads what it prints
// with (Node's start-up is most of a CLI call), and list -l / create -n load libxl's
// IDL when they need it.
import { cprintf } from '../ui/xl/cprintf.js';
import { formatCommandHelp } from '../ui/xl/cmdtable.js';
import { formatInfo } from '../ui/xl/info.js';
import {
  domidNotFoundMessage,
  domnameNotFoundMessage,
  formatDomid,
  formatDomname,
  formatVmList,
  listDomainNotFoundMessage,
  listHeader,
  listLine,
} from '../ui/xl/list.js';
import { formatUptime } from '../ui/xl/uptime.js';
import { formatVcpuList, formatVcpuPinDryRun } from '../ui/xl/vcpu-list.js';
import { parseCpuList, parseMemSizeKb, XlArgError } from '../ui/xl/args.js';
import { SHUTDOWN_REASON_CODE, type XlDomainRow, type XlInfo, type XlListLongEntry, type XlUptimeRow, type XlVcpuRow } from '../toolstack/libxl/rows.js';
import type { LibxlDomainConfig } from '../toolstack/libxl/idl.js';
import { domainQualifier } from '../toolstack/libxl/qualifier.js';
import { strtol, strtoul } from '../common/c-number.js';
import { XenemuError } from '../common/errors.js';

/** An xl command that failed: what xl prints and the status it exits with. */
export class XlFailure extends XenemuError {
  constructor(
    /** xl's stderr text, newlines included. */
    readonly stderr: string,
    /** xl's exit status for this failure (not always 1: create exits 3, usage 2...). */
    override readonly exitStatus: number,
    /** What xl had already written to stdout before failing (vcpu-list's header...). */
    readonly stdout = '',
  ) {
    super('XL_FAILURE', stderr.trimEnd());
  }
}

/** A command's stdout text and the data it shows. */
export interface XlOutput<T> {
  stdout: string;
  data: T;
}

/** What a command needs from whoever runs it. */
export interface XlContext {
  /** The daemon, connected (and started if needed) on first use. */
  client(): Promise<DomainClient>;
  /** The daemon if one already runs; null otherwise (never starts it). */
  peekClient(): Promise<DomainClient | null>;
  /** Write to stderr now, in order with the command's progress (xl's fprintf(stderr)/LOG). */
  note(text: string): void;
  now(): Date;
}

/** An XlContext over a state dir; close() it when the command is done. */
export class XlSession implements XlContext {
  private connection: Promise<DomainClient> | undefined;

  constructor(
    private readonly paths: StatePaths,
    readonly note: (text: string) => void,
    readonly now: () => Date = () => new Date(),
  ) {}

  client(): Promise<DomainClient> {
    this.connection ??= DomainClient.connect(this.paths);
    return this.connection;
  }

  async peekClient(): Promise<DomainClient | null> {
    if (this.connection) return this.connection;
    try {
      const client = await DomainClient.connect(this.paths, { start: false });
      this.connection = Promise.resolve(client);
      return client;
    } catch {
      return null;
    }
  }

  close(): void {
    void this.connection?.then(
      (c) => c.close(),
      () => {},
    );
  }
}

// ---- C number parsing and libxl error codes ------------------------------------------

const toUint32 = (v: bigint): number => Number(BigInt.asUintN(32, v));

/**
 * libxl's times are whole nanoseconds (uint64_t). The emulation may account fractions;
 * they are dropped as the C conversion would, so the formatters get libxl's values.
 */
const wholeNs = (ns: number | bigint): number | bigint => (typeof ns === 'number' ? Math.max(0, Math.floor(ns)) : ns);

/**
 * The libxl error code xl would print for the daemon's errno. libxl reports a missing
 * domain differently per call (destroy: ERROR_DOMAIN_NOTFOUND -21; shutdown, which first
 * asks for the domain's type: ERROR_FAIL -3), so the caller says which.
 */
function libxlRc(err: RpcCallError, notFound = -21): number {
  switch (err.code) {
    case 'ESRCH':
      return notFound;
    case 'EINVAL':
    case 'EEXIST':
      return -6; // ERROR_INVAL
    case 'ENOMEM':
      return -5; // ERROR_NOMEM
    case 'ETIMEDOUT':
      return -9; // ERROR_TIMEDOUT
    default:
      return -3; // ERROR_FAIL
  }
}

/** Run a daemon call; turn its failure into xl's: our reason, then xl's own line. */
async function orFail<T>(call: Promise<T>, xlLine: (err: RpcCallError) => string, exitCode = 1): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof RpcCallError) throw new XlFailure(`xenemu: ${err.message}\n${xlLine(err)}`, exitCode);
    throw err;
  }
}

/**
 * find_domain() (xl_utils.c) through libxl_domain_qualifier_to_domid(): an argument of
 * digits only (even none) is a domain id, taken as it is without asking whether the
 * domain exists; anything else is a name, and an unknown name ends xl with status 1.
 */
export async function findDomain(client: DomainClient, p: string): Promise<number> {
  const q = domainQualifier(p);
  if ('domid' in q) return q.domid;
  try {
    return await client.domid(p);
  } catch (err) {
    // libxl_name_to_domid() answers ERROR_INVAL (-6) for a name it cannot find.
    if (isRpcError(err, 'ESRCH')) throw new XlFailure(`${p} is an invalid domain identifier (rc=-6)\n`, 1);
    throw err;
  }
}

// ---- create ---------------------------------------------------------------------------

export interface XlCreateOptions {
  /** The config file (YAML or xl.cfg). */
  file?: string;
  /** KEY=VALUE settings applied after the file, as xl appends them to it. */
  overrides: readonly string[];
  paused: boolean;
  /** -n / global -N: print the configuration, create nothing. */
  dryRun: boolean;
  /** -q: no "Parsing config from" line. */
  quiet: boolean;
  /** -d: print the configuration on stderr, then create. */
  debug: boolean;
  /** -v: also print xenemu's notes on the config (not emulated, deprecated), which xl does not. */
  verbose?: boolean;
}

export type XlCreateResult = { dryRun: true; config: LibxlDomainConfig } | { dryRun: false; domid: number; name: string; uuid: string; paused: boolean };

/** libxl_domain_config_to_json(): the config object alone, yajl-beautified. */
export async function formatDomainConfigOnly(config: LibxlDomainConfig): Promise<string> {
  const { libxlDomainConfigGenJson, YajlGen } = await import('../toolstack/libxl/index.js');
  const g = new YajlGen();
  libxlDomainConfigGenJson(g, config);
  return g.buffer;
}

/** main_create() + create_domain() (xl_vmcontrol.c). */
export async function xlCreate(ctx: XlContext, o: XlCreateOptions): Promise<XlOutput<XlCreateResult>> {
  // No file: create_domain() returns ERROR_INVAL, and main_create() exits with -rc.
  if (o.file === undefined) throw new XlFailure('Config file not specified and none in save file\n', 6);
  const file = o.file;
  let regular: boolean;
  try {
    // What libxl_read_file_contents() fails on (a missing or unreadable file, a
    // directory), found without reading what may be a huge file: its size is the
    // config reader's to refuse.
    const fd = openSync(file, 'r');
    let isDir: boolean;
    try {
      const stat = fstatSync(fd);
      isDir = stat.isDirectory();
      regular = stat.isFile();
    } finally {
      closeSync(fd);
    }
    if (isDir) throw Object.assign(new Error(`${file} is a directory`), { code: 'EISDIR' });
  } catch (err) {
    // libxl_read_file_contents() fails: ERROR_FAIL, exit status 3.
    throw new XlFailure(`Failed to read config file: ${file}: ${strerror((err as NodeJS.ErrnoException).code ?? 'EIO')}\n`, 3);
  }
  if (!o.quiet) ctx.note(`Parsing config from ${file}\n`);
  // A running daemon has the config reader loaded (YAML and zod: most of what this
  // command would load): it reads the file and creates in one call. A dry run prints
  // libxl's JSON here, and a pipe (/dev/stdin) is only this process's to read.
  if (!o.dryRun && !o.debug && regular) {
    const running = await ctx.peekClient();
    if (running !== null) return createInDaemon(ctx, running, file, o);
  }
  const { loadDomainConfig, ConfigError, storeGivenKeys } = await import('../toolstack/config/index.js');
  let config: DomainConfig;
  let given: GivenKeys;
  try {
    // Relative disk, kernel and ramdisk paths resolve against the file's directory
    // (toolstack/config), in a dry run too: -n shows the paths a create would use.
    const loaded = loadDomainConfig(file, o.overrides);
    await noteWarnings(ctx, loaded.warnings, o.verbose ?? false);
    ({ config, given } = loaded);
  } catch (err) {
    if (err instanceof ConfigError) throw await configFailure(err.issues);
    throw err;
  }
  if (o.dryRun || o.debug) {
    const { xlParsedDomainConfig } = await import('../toolstack/libxl/from-config.js');
    const parsed = xlParsedDomainConfig(config, { hostCpus: await dryRunHostCpus(ctx, config), given });
    const json = await formatDomainConfigOnly(parsed);
    if (o.dryRun) return { stdout: json, data: { dryRun: true, config: parsed } };
    ctx.note(json);
  }
  const client = await ctx.client();
  // libxl_domain_create_new() fails with ERROR_FAIL whatever the cause: exit status 3.
  const r = await orFail(client.create(config, { paused: o.paused, source: resolve(file), given: storeGivenKeys(given, config) }), () => '', 3);
  return { stdout: '', data: { dryRun: false, domid: r.domid, name: r.name, uuid: r.uuid, paused: o.paused } };
}

/** domain.createFile: the daemon reads the file; what it answers is printed as a local read would print it. */
async function createInDaemon(ctx: XlContext, client: DomainClient, file: string, o: XlCreateOptions): Promise<XlOutput<XlCreateResult>> {
  const source = resolve(file);
  // libxl_domain_create_new() fails with ERROR_FAIL whatever the cause: exit status 3.
  const r = await orFail(client.createFile({ file: source, label: file, overrides: [...o.overrides], paused: o.paused }), () => '', 3);
  if (r.outcome === 'invalid') throw await configFailure(r.issues);
  await noteWarnings(ctx, r.warnings, o.verbose ?? false);
  if (r.outcome === 'failed') throw new XlFailure(`xenemu: ${r.message}\n`, 3);
  return { stdout: '', data: { dryRun: false, domid: r.domid, name: r.name, uuid: r.uuid, paused: o.paused } };
}

/** xl exits 1 on a config it cannot use; each problem on its own line, like a compiler. */
async function configFailure(issues: readonly ConfigIssue[]): Promise<XlFailure> {
  const { formatIssue } = await import('../toolstack/config/issues.js');
  return new XlFailure(issues.map((i) => `${formatIssue(i)}\n`).join(''), 1);
}

/** The config's warnings xl users need (all of them with -v), each on its own line. */
async function noteWarnings(ctx: XlContext, warnings: readonly ConfigIssue[], verbose: boolean): Promise<void> {
  if (warnings.length === 0) return;
  // The issue formatter without the config reader (no YAML, no zod).
  const { formatIssue, warningsToShow } = await import('../toolstack/config/issues.js');
  const shown = warningsToShow(warnings, verbose);
  if (shown.length === 0) return;
  // chalk, for the word in yellow on a colour terminal, loads only when there are warnings.
  const warning = (await import('../ui/color.js')).chalkFor('stderr').yellow('warning:');
  for (const w of shown) ctx.note(`xenemu: ${warning} ${formatIssue(w)}\n`);
}

/**
 * "all" (or node:0) in cpus= stands for every CPU of the host. A dry run does not start the
 * daemon for that: it asks a running one, else assumes this machine's CPU count.
 */
async function dryRunHostCpus(ctx: XlContext, c: DomainConfig): Promise<number> {
  const specs = [c.cpus, c.cpus_soft].flat().filter((s): s is string => typeof s === 'string');
  // "all" and a NUMA node (node 0 is every CPU) both stand for the host's CPUs.
  if (!specs.some((s) => s.includes('all') || s.includes('node'))) return 0;
  const client = await ctx.peekClient();
  if (client !== null) return (await client.vcpuList(['0'])).nrCpus;
  const { availableParallelism } = await import('node:os');
  return availableParallelism();
}

// ---- list -----------------------------------------------------------------------------

export interface XlListOptions {
  domains: readonly string[];
  long: boolean;
  verbose: boolean;
  context: boolean;
  cpupool: boolean;
  numa: boolean;
  /** `xl claims`: the Claimed column. */
  claim?: boolean;
}

export type XlListResult = XlDomainRow[] | XlListLongEntry[];

/** main_list() (xl_info.c). */
export async function xlList(ctx: XlContext, o: XlListOptions): Promise<XlOutput<XlListResult>> {
  // xl lists one domain or all; more operands print the help, status 1, before any call.
  if (o.domains.length > 1) throw new XlFailure('', 1, formatCommandHelp('list'));
  const client = await ctx.client();
  let refs: string[] | undefined;
  if (o.domains.length > 0) {
    refs = [];
    for (const d of o.domains) {
      const domid = String(await findDomain(client, d));
      // libxl_domain_info(): ERROR_DOMAIN_NOTFOUND.
      try {
        await client.list([domid]);
      } catch (err) {
        if (isRpcError(err, 'ESRCH')) throw new XlFailure(listDomainNotFoundMessage(d), 1);
        throw err;
      }
      refs.push(domid);
    }
  }
  if (o.long) {
    const entries = await client.listLong(refs);
    return { stdout: (await import('../ui/xl/list-long.js')).formatListLong(entries), data: entries };
  }
  const rows = await client.list(refs);
  const options = { verbose: o.verbose, context: o.context, cpupool: o.cpupool, numa: o.numa, claim: o.claim ?? false, nrNodes: 1 };
  let stdout = listHeader(options);
  // One domain the daemon reports in a state no line can show must not hide the others:
  // they are listed, it is named on stderr, and the status says something was left out.
  const unshown: string[] = [];
  for (const r of rows) {
    // xenemu has one cpupool and one NUMA node; rows that do not say get those.
    const shown = { ...r, cpuTimeNs: wholeNs(r.cpuTimeNs), cpupoolName: r.cpupoolName ?? 'Pool-0', nodeAffinity: r.nodeAffinity ?? ('all' as const) };
    try {
      stdout += listLine(shown, options);
    } catch (err) {
      unshown.push(`xenemu: domain ${String(r.domid)} is left out: the daemon reports a state it cannot be listed in (${(err as Error).message})\n`);
    }
  }
  if (unshown.length > 0) throw new XlFailure(unshown.join(''), 1, stdout);
  return { stdout, data: rows };
}

// ---- destroy, shutdown, reboot, pause, unpause, rename -------------------------------

export async function xlDestroy(ctx: XlContext, o: { domain: string; force: boolean }): Promise<XlOutput<{ domid: number }>> {
  const client = await ctx.client();
  const domid = await findDomain(client, o.domain);
  if (domid === 0 && !o.force) {
    throw new XlFailure('Not destroying domain 0; use -f to force.\nThis can only be done when using a disaggregated hardware domain and toolstack.\n\n', 1);
  }
  await orFail(client.destroy(String(domid)), (e) => `destroy failed (rc=${libxlRc(e, -21)})\n`);
  return { stdout: '', data: { domid } };
}

export interface XlShutdownOptions {
  reboot: boolean;
  /** -a: every domain but dom0. */
  all: boolean;
  /** -w: wait until the domains have shut down. */
  wait: boolean;
  domain?: string;
}

export interface XlShutdownResult {
  domid: number;
  name: string;
  /** Why it shut down (with -w), as libxl_shutdown_reason; null otherwise or if it vanished. */
  reason: string | null;
}

/** main_shutdown_or_reboot() (xl_vmcontrol.c). */
export async function xlShutdown(ctx: XlContext, o: XlShutdownOptions): Promise<XlOutput<XlShutdownResult[]>> {
  if (o.domain === undefined && !o.all) throw new XlFailure('You must specify -a or a domain id.\n\n', 1);
  const client = await ctx.client();
  const targets = o.all ? (await client.list()).map((r) => r.domid).filter((id) => id !== 0) : [await findDomain(client, o.domain!)];
  const what = o.reboot ? 'reboot' : 'shutdown';
  for (const domid of targets) ctx.note(o.reboot ? `Rebooting domain ${domid}\n` : `Shutting down domain ${domid}\n`);
  // xl asks every domain first, then waits for all (one daemon call does both here).
  if (o.wait) ctx.note(`Waiting for ${targets.length} domains\n`);
  if (targets.length === 0) return { stdout: '', data: [] };
  // A missing domain fails in libxl__domain_type(): ERROR_FAIL.
  const results = await orFail(
    client.shutdown({ refs: targets.map(String), wait: o.wait, command: o.reboot ? 'reboot' : 'poweroff' }),
    (e) => `${what} failed (rc=${libxlRc(e, -3)})\n`,
  );
  if (o.wait) {
    for (const r of results) {
      const code = r.reason === null ? undefined : SHUTDOWN_REASON_CODE[r.reason as keyof typeof SHUTDOWN_REASON_CODE];
      ctx.note(code === undefined ? `Domain ${r.domid} has been destroyed\n` : `Domain ${r.domid} has been shut down, reason code ${code}\n`);
    }
  }
  return { stdout: '', data: results };
}

export async function xlPause(ctx: XlContext, o: { domain: string; unpause: boolean }): Promise<XlOutput<{ domid: number }>> {
  const client = await ctx.client();
  const domid = await findDomain(client, o.domain);
  // xl ignores libxl_domain_(un)pause()'s result and exits 0; xenemu says why and exits 1.
  await orFail(o.unpause ? client.unpause(String(domid)) : client.pause(String(domid)), () => '');
  return { stdout: '', data: { domid } };
}

/** main_sysrq() (xl_misc.c): one letter, written to the guest's control/sysrq. */
export async function xlSysrq(ctx: XlContext, o: { domain: string; key: string }): Promise<XlOutput<{ domid: number; key: string }>> {
  const client = await ctx.client();
  const domid = await findDomain(client, o.domain);
  // xl tests sysrq[1] only, so an empty argument passes as the NUL key, which the
  // guest ignores; the xenstore write of "" is all that happens.
  // sysrq[1] != '\0': one byte, so a character that UTF-8 spells in two is refused too.
  if (Buffer.byteLength(o.key) > 1) throw new XlFailure('Invalid sysrq.\n\n', 1, formatCommandHelp('sysrq'));
  if (o.key !== '') await orFail(client.sysrq(String(domid), o.key), () => '');
  return { stdout: '', data: { domid, key: o.key } };
}

/** libxl_trigger's names, as libxl_trigger_from_string() takes them (any case). */
const TRIGGERS = ['power', 'sleep', 'nmi', 'init', 'reset', 's3resume'] as const;

/**
 * main_trigger() (xl_misc.c) and libxl_send_trigger(): XEN_DOMCTL_sendtrigger, on
 * vCPU 0 unless one is named. xl ignores libxl's result and exits 0; xenemu prints
 * libxl's message and exits 1, so that a script knows the trigger never arrived.
 */
export async function xlTrigger(ctx: XlContext, o: { domain: string; trigger: string; vcpu?: string }): Promise<XlOutput<{ domid: number; trigger: string; vcpu: number }>> {
  const client = await ctx.client();
  const domid = await findDomain(client, o.domain);
  const trigger = TRIGGERS.find((t) => t === o.trigger.toLowerCase());
  if (trigger === undefined) throw new XlFailure(`Invalid trigger "${o.trigger}"\n`, 1);
  let vcpu = 0;
  if (o.vcpu !== undefined) {
    const v = strtol(o.vcpu, 10);
    // int vcpuid = strtol(...): the low 32 bits, as C's conversion keeps them.
    vcpu = Number(BigInt.asIntN(32, v.value));
    if (vcpu === 0 && v.end === 0) ctx.note('Invalid vcpuid, using default vcpuid=0.\n\n');
  }
  const failed = `Send trigger '${trigger}' failed`;
  // s3resume is no domctl: libxl asks the device model, and xenemu's guests have none (ERROR_INVAL).
  if (trigger === 's3resume') throw new XlFailure(`xenemu: ${failed}, rc=-6: domain ${domid} has no device model to wake\n`, 1);
  // uint32_t vcpuid in the domctl: a negative one is a huge vCPU number, which Xen refuses (ESRCH).
  try {
    await client.trigger(String(domid), trigger, vcpu < 0 ? 0x7fffffff : vcpu);
  } catch (err) {
    if (err instanceof RpcCallError) throw new XlFailure(`xenemu: ${failed}: ${err.message}\n`, 1);
    throw err;
  }
  return { stdout: '', data: { domid, trigger, vcpu } };
}

/** main_button_press(): printed first thing, before its options are parsed (stderr). */
export const BUTTON_PRESS_DEPRECATED = 'WARNING: "button-press" is deprecated. Please use "trigger"\n';

/**
 * main_button_press() (xl_misc.c): the deprecated spelling of `trigger DOMAIN power`
 * or `sleep` (its warning is the caller's: xl prints it before parsing the command
 * line). Only those two buttons, as strcmp() spells them; the trigger as xlTrigger
 * sends it, failures included (xl exits 0 whatever libxl_send_trigger() answers;
 * xenemu's trigger exits 1, and so does this).
 */
export async function xlButtonPress(ctx: XlContext, o: { domain: string; button: string }): Promise<XlOutput<{ domid: number; trigger: string; vcpu: number }>> {
  const client = await ctx.client();
  const domid = await findDomain(client, o.domain);
  if (o.button !== 'power' && o.button !== 'sleep') throw new XlFailure(`${o.button} is an invalid button identifier\n`, 1);
  return xlTrigger(ctx, { domain: String(domid), trigger: o.button });
}

export async function xlRename(ctx: XlContext, o: { domain: string; newName: string }): Promise<XlOutput<{ domid: number; name: string }>> {
  const client = await ctx.client();
  const domid = await findDomain(client, o.domain);
  await orFail(client.rename(String(domid), o.newName), () => `Can't rename domain '${o.domain}'.\n`);
  return { stdout: '', data: { domid, name: o.newName } };
}

// ---- domid, domname, info, uptime, dmesg ---------------------------------------------

/**
 * main_vm_list() (xl_info.c, list_vm): libxl_list_vm()'s UUID, id and name of every
 * domain but stub domains (xenemu has none). Domain-0 is listed: xl's help says
 * "excluding dom0", but libxl_list_vm() has walked libxl_list_domain(), which starts
 * at domid 0, since Xen 4.7.
 */
export async function xlVmList(ctx: XlContext): Promise<XlOutput<Array<{ uuid: string; domid: number; name: string | null }>>> {
  const client = await ctx.client();
  const vms = (await client.list()).map((r) => ({ uuid: r.uuid.toLowerCase(), domid: r.domid, name: r.name }));
  return { stdout: formatVmList(vms), data: vms };
}

export async function xlDomid(ctx: XlContext, o: { name: string }): Promise<XlOutput<{ domid: number }>> {
  const client = await ctx.client();
  let domid: number;
  try {
    domid = await client.domid(o.name);
  } catch (err) {
    if (isRpcError(err, 'ESRCH')) throw new XlFailure(domidNotFoundMessage(o.name), 1);
    throw err;
  }
  return { stdout: formatDomid(domid), data: { domid } };
}

export async function xlDomname(ctx: XlContext, o: { domid: string }): Promise<XlOutput<{ name: string }>> {
  // strtol(); only "no digits at all" is refused, "3abc" is domain 3.
  const n = strtol(o.domid, 10);
  if (n.end === 0) throw new XlFailure('Invalid domain id.\n\n', 1);
  const domid = toUint32(n.value);
  const client = await ctx.client();
  let name: string;
  try {
    name = await client.domname(domid);
  } catch (err) {
    if (isRpcError(err, 'ESRCH')) throw new XlFailure(domnameNotFoundMessage(domid), 1);
    throw err;
  }
  return { stdout: formatDomname(name), data: { name } };
}

export async function xlInfo(ctx: XlContext, o: { numa: boolean; only?: string }): Promise<XlOutput<XlInfo>> {
  const info = await (await ctx.client()).hostInfo();
  return { stdout: formatInfo(info, { numa: o.numa, ...(o.only !== undefined ? { only: o.only } : {}) }), data: info };
}

/** main_uptime() (xl_info.c): dom0 first, then the others; a domain that is gone is skipped. */
export async function xlUptime(ctx: XlContext, o: { domains: readonly string[]; short: boolean }): Promise<XlOutput<XlUptimeRow[]>> {
  const client = await ctx.client();
  const wanted: number[] = [];
  for (const d of o.domains) wanted.push(await findDomain(client, d));
  const rows = await client.uptime();
  const byId = new Map(rows.map((r) => [r.domid, r]));
  const shown =
    wanted.length === 0
      ? [...rows.filter((r) => r.domid === 0), ...rows.filter((r) => r.domid !== 0)]
      : wanted.map((id) => byId.get(id)).filter((r): r is XlUptimeRow => r !== undefined);
  return { stdout: formatUptime(shown, { short: o.short, now: ctx.now() }), data: shown };
}

/**
 * main_dmesg() (xl_info.c): the hypervisor's console log; -c clears it as it is read
 * (libxl_xen_console_read_start(ctx, clear)). With a domain, that guest kernel's log
 * instead (xenemu's extension; xl dmesg ignores operands), which -c clears as dmesg -c.
 */
export async function xlDmesg(ctx: XlContext, o: { domain?: string; clear: boolean }): Promise<XlOutput<{ lines: string[] }>> {
  const client = await ctx.client();
  const lines =
    o.domain === undefined
      ? await client.dmesg(undefined, o.clear)
      : await orFail(client.dmesg(String(await findDomain(client, o.domain)), o.clear), () => '');
  return { stdout: lines.map((l) => `${l}\n`).join(''), data: { lines } };
}

/**
 * main_debug_keys() (xl_misc.c): XEN_SYSCTL_debug_keys with the argument's bytes; the
 * handlers print to the hypervisor's console (`xl dmesg`), xl itself prints nothing.
 * Keys Xen has no handler for are ignored, so only a failed call is an error: libxl's
 * message, then xl's "cannot send debug keys", exit 1.
 */
export async function xlDebugKeys(ctx: XlContext, o: { keys: string }): Promise<XlOutput<{ keys: string }>> {
  const client = await ctx.client();
  try {
    await client.debugKeys(o.keys);
  } catch (err) {
    if (err instanceof RpcCallError) throw new XlFailure(`xenemu: sending debug keys: ${err.message}\ncannot send debug keys: ${o.keys}\n`, 1);
    throw err;
  }
  return { stdout: '', data: { keys: o.keys } };
}

// ---- vCPUs ---------------------------------------------------------------------------

/** vcpulist() (xl_vcpu.c), plus xenemu's -l column (where each vcpu_info lives). */
export async function xlVcpuList(ctx: XlContext, o: { domains: readonly string[]; long: boolean }): Promise<XlOutput<{ rows: XlVcpuRow[]; nrCpus: number }>> {
  const client = await ctx.client();
  const shown = (rows: readonly XlVcpuRow[]): XlVcpuRow[] => rows.map((v) => ({ ...v, vcpuTimeNs: wholeNs(v.vcpuTimeNs) }));
  if (o.domains.length === 0) {
    const r = await client.vcpuList();
    return { stdout: formatVcpuList(shown(r.rows), { nrCpus: r.nrCpus, long: o.long }), data: r };
  }
  // xl prints the header first, then each domain as it finds it: a bad name ends the
  // run after the domains before it were printed; a missing domid prints nothing.
  const { nrCpus } = await client.vcpuList(['0']);
  const rowsText = (rows: readonly XlVcpuRow[]): string => formatVcpuList(rows, { nrCpus, long: o.long }).replace(/^[^\n]*\n/, '');
  let out = formatVcpuList([], { nrCpus, long: o.long });
  const rows: XlVcpuRow[] = [];
  for (const d of o.domains) {
    let domid: number;
    try {
      domid = await findDomain(client, d);
    } catch (err) {
      if (err instanceof XlFailure) throw new XlFailure(err.stderr, err.exitStatus, out);
      throw err;
    }
    try {
      const r = await client.vcpuList([String(domid)]);
      out += rowsText(shown(r.rows));
      rows.push(...r.rows);
    } catch (err) {
      if (!isRpcError(err, 'ESRCH')) throw err;
      ctx.note(`xenemu: ${err.message}\n`);
    }
  }
  return { stdout: out, data: { rows, nrCpus } };
}

export interface XlVcpuPinOptions {
  domain: string;
  vcpu: string;
  hard: string;
  soft?: string;
  force: boolean;
  ignoreMasks: boolean;
  /** Global -N: print the maps, change nothing. */
  dryRun: boolean;
}

export interface XlVcpuPinResult {
  domid: number;
  vcpu: number | 'all';
  /** null: left as it was ("-"). */
  hard: number[] | 'all' | null;
  soft: number[] | 'all' | null;
}

/** main_vcpupin() (xl_vcpu.c). */
export async function xlVcpuPin(ctx: XlContext, o: XlVcpuPinOptions): Promise<XlOutput<XlVcpuPinResult>> {
  const client = await ctx.client();
  const domid = await findDomain(client, o.domain);
  const v = strtol(o.vcpu, 10);
  let vcpu: number | 'all';
  if (v.end === 0 || v.value < 0n) {
    if (o.vcpu !== 'all') throw new XlFailure(`Error: Invalid argument ${o.vcpu} as VCPU.\n`, 1);
    if (o.force) throw new XlFailure("Error: --force and 'all' as VCPU not allowed.\n", 1);
    vcpu = 'all';
  } else {
    vcpu = Number(v.value);
  }
  // libxl_cpu_bitmap_alloc(ctx, map, 0): as many CPUs as the host has.
  const { nrCpus } = await client.vcpuList(['0']);
  const parse = (spec: string | undefined): number[] | null => {
    if (spec === undefined || spec === '-') return null;
    try {
      return parseCpuList(spec, { maxCpus: nrCpus });
    } catch (err) {
      if (err instanceof XlArgError) throw new XlFailure(err.stderr, 1);
      throw err;
    }
  };
  const hardMap = parse(o.hard);
  const softMap = parse(o.soft);
  if (o.dryRun) return { stdout: formatVcpuPinDryRun(hardMap, softMap, nrCpus), data: { domid, vcpu, hard: hardMap, soft: softMap } };
  // Only CPUs the host has count; a map with all of them is "all".
  const narrow = (m: number[] | null): number[] | 'all' | null => {
    if (m === null) return null;
    const cpus = m.filter((c) => c < nrCpus);
    return cpus.length === nrCpus ? 'all' : cpus;
  };
  const hard = narrow(hardMap);
  const soft = narrow(softMap);
  if (!o.ignoreMasks && hard !== null) {
    // xl reads the domain's type here, for the global affinity masks of xl.conf.
    try {
      await client.list([String(domid)]);
    } catch (err) {
      if (isRpcError(err, 'ESRCH')) throw new XlFailure('Could not get domain info\n', 1);
      throw err;
    }
  }
  // xl exits 0 after "Could not set affinity." for "all"; xenemu exits 1.
  const failed = vcpu === 'all' ? 'Could not set affinity.\n' : `Could not set affinity for vcpu \`${vcpu}'.\n`;
  await orFail(client.vcpuPin({ ref: String(domid), vcpu, hard, soft }), () => failed);
  return { stdout: '', data: { domid, vcpu, hard, soft } };
}

/** vcpuset() (xl_vcpu.c). */
export async function xlVcpuSet(ctx: XlContext, o: { domain: string; count: string; ignoreHost: boolean }): Promise<XlOutput<{ domid: number; vcpus: number }>> {
  const client = await ctx.client();
  const domid = await findDomain(client, o.domain);
  const n = strtoul(o.count, 10);
  if (n.end === 0 || n.value > 0x7fffffffn) throw new XlFailure('Error: Invalid argument.\n', 1);
  const count = Number(n.value);
  if (!o.ignoreHost) {
    let online: number;
    try {
      online = (await client.list([String(domid)]))[0]!.vcpusOnline;
    } catch (err) {
      // libxl_domain_info() failed: xl returns 1 without a word of its own.
      if (isRpcError(err)) throw new XlFailure(`xenemu: ${err.message}\n`, 1);
      throw err;
    }
    const hostCpus = (await client.vcpuList(['0'])).nrCpus;
    if (count > online && count > hostCpus) {
      throw new XlFailure(
        cprintf('You are overcommmitting! You have %d physical CPUs and want %ld vCPUs! Aborting, use --ignore-host to continue\n', hostCpus, count),
        1,
      );
    }
  }
  try {
    await client.vcpuSet(String(domid), count);
  } catch (err) {
    if (!(err instanceof RpcCallError)) throw err;
    if (err.code === 'ESRCH') throw new XlFailure(cprintf('Domain %u does not exist.\n', domid), 1);
    // libxl_set_vcpuonline() fails with ERROR_FAIL for 0 vCPUs or more than maxvcpus.
    throw new XlFailure(`xenemu: ${err.message}\n${cprintf('libxl_set_vcpuonline failed domid=%u max_vcpus=%ld, rc: %d\n', domid, count, -3)}`, 1);
  }
  return { stdout: '', data: { domid, vcpus: count } };
}

// ---- memory ----------------------------------------------------------------------------

/** main_memset() / main_memmax() (xl_mem.c); sizes as parse_mem_size_kb(): a bare number is MiB. */
export async function xlMem(ctx: XlContext, o: { domain: string; size: string; max: boolean }): Promise<XlOutput<{ domid: number; kib: number }>> {
  const client = await ctx.client();
  const domid = await findDomain(client, o.domain);
  let kib: bigint;
  try {
    kib = parseMemSizeKb(o.size);
  } catch (err) {
    if (err instanceof XlArgError) throw new XlFailure(err.stderr, 1);
    throw err;
  }
  const failed = cprintf(o.max ? 'cannot set domid %u static max memory to : %s\n' : 'cannot set domid %u dynamic max memory to : %s\n', domid, o.size);
  // libxl refuses what is negative once it is a uint64_t, or beyond any domain.
  if (kib < 0n || kib > BigInt(Number.MAX_SAFE_INTEGER)) throw new XlFailure(`xenemu: ${o.size} is not a memory size a domain can have\n${failed}`, 1);
  const call = o.max ? client.memMax(String(domid), Number(kib)) : client.memSet(String(domid), Number(kib));
  await orFail(call, () => failed);
  return { stdout: '', data: { domid, kib: Number(kib) } };
}

// ---- helpers for the oclif commands ----------------------------------------------------

/**
 * The data as JSON readers can take it: an integer beyond 2^53 (a u64 of libxl, as a
 * bigint or a double) becomes its exact decimal text, which JSON parsers that read
 * numbers as doubles would otherwise round.
 */
export function jsonSafe<T>(data: T): T {
  const exact = (_k: string, v: unknown): unknown => {
    if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) return BigInt(v).toString();
    return v;
  };
  return JSON.parse(JSON.stringify(data, exact)) as T;
}
