import * as z from 'zod';
import { MAX_PCPUS } from '../hypervisor/host-model.js';
import { DomainConfigField, domainNameProblem, MAX_VCPUS, StoredGivenKeysField } from '../toolstack/config/index.js';
import { DomainRef, Domid, NoParams } from './params.js';
import type { ConfigIssue } from '../toolstack/config/issues.js';
import type { XlDomainRow, XlInfo, XlListLongEntry, XlUptimeRow, XlVcpuRow } from '../toolstack/libxl/rows.js';

/**
 * The control-socket methods of the xl-like commands: parameters and results. The CLI
 * parses arguments (so errors point at the argument) and formats the results with
 * src/ui/xl; the daemon does the work, reading create's config file too
 * (domain.createFile: its reader is loaded there), its issues still naming the file
 * as the user typed it. A domain is named by id or name
 * (`ref`), as xl accepts both.
 *
 * The parameters are zod schemas, which the daemon checks every request against before
 * the method runs (src/protocol/methods.ts), with the rules the CLI applies to what the
 * user typed: a client that skips the CLI cannot ask for more.
 */

const Refs = z.array(DomainRef);
/** A host CPU (`vcpu-pin` maps; the host has at most MAX_PCPUS). */
const Pcpu = z.int().min(0).max(MAX_PCPUS - 1);
/** xl's "all", a list of host CPUs, or null: keep the affinity as it is (xl's "-"). */
const CpuMap = z.union([z.array(Pcpu).max(MAX_PCPUS), z.literal('all'), z.null()]);
/** KiB, as xl's parse_mem_size_kb() gives them (the CLI refuses what a double cannot hold). */
const KiB = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
/**
 * A domain's new name: a config's name rule (domainNameProblem), except that Domain-0
 * gets through to be refused as xl refuses it, as a name a domain (dom0) already has.
 */
const NewName = z.string().refine((n) => n === 'Domain-0' || domainNameProblem(n) === undefined, { error: (iss) => domainNameProblem(String(iss.input)) });

/** An absolute path without NUL (which no file name holds). */
const ConfigFile = z
  .string()
  .min(1)
  .max(4096)
  .refine((f) => f.startsWith('/') && !f.includes('\0'), { error: 'must be an absolute path' });
/** Bounds on create's KEY=VALUE operands, far above any command line. */
const MAX_OVERRIDES = 1024;
const MAX_OVERRIDE_LENGTH = 64 * 1024;
/** The most debug keys one call presses: the console ring holds 128 KiB, and '*' alone prints a few KiB. */
export const MAX_DEBUG_KEYS = 256;

export const DomainParams = {
  'domain.create': z.strictObject({
    config: DomainConfigField,
    /** Leave it paused after it is built (absent: boot it, as xl create without -p). */
    paused: z.boolean().default(false),
    /** The config file the CLI read, kept with the domain's record. */
    source: z.string().min(1).max(4096).optional(),
    /** What its xl.cfg spelled out (config/given-keys.ts), for `list -l`. */
    given: StoredGivenKeysField.optional(),
  }),
  /**
   * `xl create FILE [KEY=VALUE...]` with the daemon reading the file (its config reader
   * is loaded already; the CLI's would cost most of the command's time). The daemon is
   * the user's: it reads the file with the user's rights, as the CLI would.
   */
  'domain.createFile': z.strictObject({
    /** The config file, absolute: relative paths in it resolve against its directory. */
    file: ConfigFile,
    /** The file as the user named it, which diagnostics name it by. */
    label: z.string().min(1).max(4096),
    /** xl's KEY=VALUE statements after the file, as typed. */
    overrides: z.array(z.string().max(MAX_OVERRIDE_LENGTH)).max(MAX_OVERRIDES),
    paused: z.boolean().default(false),
  }),
  'domain.list': z.strictObject({ refs: Refs.optional() }),
  'domain.listLong': z.strictObject({ refs: Refs.optional() }),
  'domain.destroy': z.strictObject({ ref: DomainRef }),
  'domain.shutdown': z.strictObject({
    refs: Refs.optional(),
    all: z.boolean().optional(),
    wait: z.boolean().optional(),
    command: z.enum(['poweroff', 'reboot']),
  }),
  'domain.pause': z.strictObject({ ref: DomainRef }),
  'domain.unpause': z.strictObject({ ref: DomainRef }),
  'domain.rename': z.strictObject({ ref: DomainRef, name: NewName }),
  'domain.domid': z.strictObject({ name: DomainRef }),
  'domain.domname': z.strictObject({ domid: Domid }),
  'domain.uptime': z.strictObject({ refs: Refs.optional() }),
  'domain.dmesg': z.strictObject({ ref: DomainRef.optional(), clear: z.boolean().optional() }),
  /** One byte, as libxl_send_sysrq writes "%c". */
  'domain.sysrq': z.strictObject({ ref: DomainRef, key: z.string().length(1) }),
  'domain.trigger': z.strictObject({ ref: DomainRef, trigger: z.enum(['nmi', 'reset', 'init', 'power', 'sleep']), vcpu: z.int().min(0).max(0x7fffffff) }),
  'host.info': NoParams,
  /**
   * XEN_SYSCTL_debug_keys: the keys as xl passes them (strlen bytes of its argument).
   * Bounded so that one call cannot fill the console ring many times over.
   */
  'host.debugKeys': z.strictObject({ keys: z.string().max(MAX_DEBUG_KEYS, { error: `${MAX_DEBUG_KEYS} keys at most per call` }) }),
  'vcpu.list': z.strictObject({ refs: Refs.optional() }),
  'vcpu.pin': z.strictObject({
    ref: DomainRef,
    vcpu: z.union([z.int().min(0).max(MAX_VCPUS - 1), z.literal('all')]),
    hard: CpuMap,
    soft: CpuMap,
  }),
  /** A count as xl's strtoul() takes it; the domain's maxvcpus bounds it further. */
  'vcpu.set': z.strictObject({ ref: DomainRef, count: z.int().min(0).max(0x7fffffff) }),
  'mem.set': z.strictObject({ ref: DomainRef, kib: KiB }),
  'mem.max': z.strictObject({ ref: DomainRef, kib: KiB }),
} satisfies Record<string, z.ZodType>;

/**
 * What became of a domain.createFile: a config that cannot be used (each issue, nothing
 * created), or every warning about a usable one and the create's outcome, its failure
 * included (`code`, `message` as an error answer has them), so that the CLI prints the
 * warnings before the failure as xl orders them.
 */
export type CreateFileResult =
  | { outcome: 'invalid'; issues: ConfigIssue[] }
  | { outcome: 'created'; warnings: ConfigIssue[]; domid: number; name: string; uuid: string }
  | { outcome: 'failed'; warnings: ConfigIssue[]; code: string; message: string };

interface DomainResults {
  'domain.create': { domid: number; name: string; uuid: string };
  'domain.createFile': CreateFileResult;
  'domain.list': XlDomainRow[];
  'domain.listLong': XlListLongEntry[];
  'domain.destroy': null;
  'domain.shutdown': Array<{ domid: number; name: string; reason: string | null }>;
  'domain.pause': null;
  'domain.unpause': null;
  'domain.rename': null;
  'domain.domid': number;
  'domain.domname': string;
  'domain.uptime': XlUptimeRow[];
  'domain.dmesg': string[];
  'domain.sysrq': null;
  'domain.trigger': null;
  'host.info': XlInfo;
  'host.debugKeys': null;
  'vcpu.list': { rows: XlVcpuRow[]; nrCpus: number };
  'vcpu.pin': null;
  'vcpu.set': null;
  'mem.set': null;
  'mem.max': null;
}

export type DomainMethod = keyof typeof DomainParams;

export type DomainRpc = { [M in DomainMethod]: { params: z.output<(typeof DomainParams)[M]>; result: DomainResults[M] } };
