/**
 * Validation shared by both input formats: the schema runs over the input object,
 * and each zod issue becomes a ConfigIssue at the place in the source the value
 * came from (a SpotMap filled by the YAML or the xl.cfg reader). Then a lint pass
 * finds what is valid but will not do what it says, as warnings.
 */

import { isAbsolute, resolve } from 'node:path';
import * as z from 'zod';
import { parseDiskSpec } from './disk-spec.js';
import { ConfigError, formatPath, suggestion, type ConfigIssue, type ConfigPath } from './errors.js';
import { DomainConfigSchema, knownKeysAt, MAX_VCPUS, type DomainConfig } from './schema.js';
import { parseVifSpec } from './vif-spec.js';
import type { SpotMap } from './spots.js';
import { XL_NOT_EMULATED_KEYS } from './xlcfg.js';

type RawIssue = z.core.$ZodRawIssue;
type Issue = z.core.$ZodIssue;

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};

function describeInput(input: unknown): string {
  if (input === null) return 'no value';
  if (input === undefined) return 'nothing';
  if (typeof input === 'string') return `the string ${JSON.stringify(input)}`;
  if (typeof input === 'number' || typeof input === 'boolean') return String(input);
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  return typeof input;
}

/** Messages for the issues the schema leaves to its caller (no message of its own): the error map of every check. */
export function issueMessage(iss: RawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type': {
      const expected = TYPE_NAMES[iss.expected] ?? iss.expected;
      let msg = `expected ${expected}, got ${describeInput(iss.input)}`;
      if (typeof iss.input === 'string' && (iss.expected === 'int' || iss.expected === 'number') && /^-?[0-9.]+$/.test(iss.input)) {
        msg += ' (write the number without quotes)';
      }
      if (iss.expected === 'int' && typeof iss.input === 'number') msg = `expected a whole number, got ${iss.input}`;
      if (iss.input === null) msg = `has no value: give ${expected} or remove the key`;
      return msg;
    }
    case 'invalid_value': {
      const values = iss.values.map(String);
      const got = typeof iss.input === 'string' ? `"${iss.input}" is not valid: ` : '';
      const hint = typeof iss.input === 'string' ? suggestion(iss.input, values) : '';
      return `${got}must be one of ${values.join(', ')}${hint}`;
    }
    case 'too_small': {
      const min = Number(iss.minimum);
      if (iss.origin === 'array') return `needs at least ${min} item${min === 1 ? '' : 's'}`;
      if (iss.origin === 'string') return min <= 1 ? 'is empty' : `must be at least ${min} characters`;
      return iss.inclusive === false ? `must be greater than ${min}` : `must be at least ${min}`;
    }
    case 'too_big': {
      const max = Number(iss.maximum);
      if (iss.origin === 'array') return `has more than ${max} items`;
      if (iss.origin === 'string') return `is longer than ${max} characters`;
      return `must be at most ${max}`;
    }
    default:
      return undefined;
  }
}

/** An issue as a person reads it: where (a path into the checked value) and what. */
export interface ExplainedIssue {
  path: ConfigPath;
  message: string;
  /** An unknown key: locate the key rather than its value. */
  isKey?: boolean;
  /** Offset of the problem inside a spec string. */
  offset?: number;
}

/** What depends on the value checked: how an unknown key reads, and hints added to a message. */
export interface IssueWording {
  unknownKey(path: ConfigPath, key: string): string;
  /** The final message of an issue, given the generic one (zod's, or "is mandatory" for a missing value). */
  message(path: ConfigPath, iss: Issue, generic: string): string;
}

/** For values with no hints of their own (the control socket's parameters). */
export const PLAIN_WORDING: IssueWording = {
  unknownKey: () => 'unknown field',
  message: (_path, _iss, generic) => generic,
};

/** A domain config's: "did you mean", xl.cfg keys xenemu leaves out, what a name looks like. */
export function configWording(nameExample: string): IssueWording {
  return {
    unknownKey(path, key) {
      if (path.length === 0 && key === 'builder') return 'builder is the deprecated xl.cfg spelling of type: write type: pv, pvh or hvm';
      if (path.length === 0 && XL_NOT_EMULATED_KEYS.has(key)) return `${key} is an xl.cfg key that xenemu does not emulate: remove it`;
      const known = knownKeysAt(path);
      const hint = suggestion(key, known);
      if (path.length === 0) return `unknown key${hint}: not a key of a domain config (see xl.cfg(5) and configs/schema.json)`;
      return `unknown key${hint}${known.length > 0 ? `: the keys here are ${known.join(', ')}` : ''}`;
    },
    message(path, iss, generic) {
      const missing = (iss.code === 'invalid_type' || iss.code === 'invalid_value') && iss.input === undefined;
      if (missing && path.length === 1 && path[0] === 'name') return `is mandatory: every domain needs a name, e.g. ${nameExample}`;
      const last = path[path.length - 1];
      if (iss.code === 'too_big' && (last === 'vcpus' || last === 'maxvcpus')) return `${generic} (Xen's limit for any guest, MAX_VIRT_CPUS; xenemu runs at most ${MAX_VCPUS})`;
      return generic;
    },
  };
}

/** Every issue of a failed parse (run with `{ error: issueMessage }`), worded for a person. */
export function explainIssues(issues: readonly Issue[], wording: IssueWording, base: ConfigPath = []): ExplainedIssue[] {
  const out: ExplainedIssue[] = [];
  for (const iss of issues) {
    const path = [...base, ...(iss.path as (string | number)[])];
    if (iss.code === 'invalid_union') {
      // Keep the branch that matched the input's type: the others only say "expected a
      // string" about a mapping, or the reverse.
      const branches = iss.errors.filter((b) => !(b.length === 1 && b[0]!.code === 'invalid_type' && b[0]!.path.length === 0));
      if (branches.length > 0) out.push(...explainIssues(branches[0]!, wording, path));
      else out.push({ path, message: iss.message });
      continue;
    }
    if (iss.code === 'unrecognized_keys') {
      for (const key of iss.keys) out.push({ path: [...path, key], message: wording.unknownKey(path, key), isKey: true });
      continue;
    }
    let generic = iss.message;
    if ((iss.code === 'invalid_type' || iss.code === 'invalid_value') && iss.input === undefined) {
      generic = iss.code === 'invalid_value' ? `is mandatory: one of ${iss.values.map(String).join(', ')}` : 'is mandatory';
    }
    const explained: ExplainedIssue = { path, message: wording.message(path, iss, generic) };
    const offset = (iss as { params?: { offset?: unknown } }).params?.offset;
    if (typeof offset === 'number') explained.offset = offset;
    out.push(explained);
  }
  return out;
}

/**
 * Check `raw` against `schema` with the messages the CLI gives for configs. Throws
 * nothing for any input: a value the schema refuses comes back as its issues.
 */
export function checkValue<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  wording: IssueWording,
): { ok: true; value: z.output<S> } | { ok: false; issues: ExplainedIssue[] } {
  const result = schema.safeParse(raw, { error: issueMessage, reportInput: true });
  return result.success ? { ok: true, value: result.data } : { ok: false, issues: explainIssues(result.error.issues, wording) };
}

/**
 * Check a domain config, from a file or from the control socket, with one set of
 * rules: values over MAX_CONFIG_VALUE_BYTES are refused on their own (the schema's
 * messages would quote them back), then the schema runs.
 */
export function checkConfig(raw: unknown, wording: IssueWording): ReturnType<typeof checkValue<typeof DomainConfigSchema>> {
  const huge: Array<{ path: ConfigPath; bytes: number }> = [];
  oversizedValues(raw, [], huge);
  if (huge.length > 0) {
    return {
      ok: false,
      issues: huge.map((h) => ({ path: h.path, message: `the value is ${h.bytes} bytes; a config value may be at most ${MAX_CONFIG_VALUE_BYTES} bytes` })),
    };
  }
  return checkValue(DomainConfigSchema, raw, wording);
}

/**
 * A domain config as a field of another schema (the control socket's `domain.create`):
 * the same schema and the same messages as a config file, so the daemon refuses
 * exactly what the CLI refuses. Its input may be a normalised DomainConfig (what the
 * CLI sends): the schema reads its own output back unchanged.
 */
export const DomainConfigField = z.unknown().transform((raw, ctx): DomainConfig => {
  const checked = checkConfig(raw, configWording('"name": "web"'));
  if (checked.ok) return checked.value;
  for (const i of checked.issues) ctx.issues.push({ code: 'custom', message: i.message, input: raw, path: [...i.path] });
  return z.NEVER;
});

/** Where an issue about `path` is, in the sources the SpotMap knows. */
export function locate(spots: SpotMap, file: string, path: ConfigPath, isKey = false, offset?: number): { file: string; line: number; column: number } {
  const found = (isKey && spots.findKey(path)) || spots.find(path);
  if (!found) return { file, line: 1, column: 1 };
  const { spot, exact } = found;
  const column = exact && offset !== undefined && spot.contentColumn !== undefined ? spot.contentColumn + offset : spot.column;
  return { file: spot.file, line: spot.line, column };
}

/**
 * The longest string value a config may hold: PATH_MAX, as the longest thing a
 * config names is a path. The keys with tighter limits (names, XenStore values, the
 * PV command line) say so themselves; this bound keeps every other value (a disk
 * target, a vif script, bootloader arguments) from carrying megabytes into the
 * toolstack's records and the control socket.
 */
export const MAX_CONFIG_VALUE_BYTES = 4096;

/**
 * How deep oversizedValues looks. A domain config nests three levels at most (a
 * disk's settings in the list of disks); anything deeper is refused by the schema,
 * and a walk into a hostile 200,000-level value would exhaust the stack.
 */
const MAX_CONFIG_DEPTH = 16;

/** Every string value longer than MAX_CONFIG_VALUE_BYTES, with its path. */
function oversizedValues(value: unknown, path: ConfigPath, out: Array<{ path: ConfigPath; bytes: number }>): void {
  if (typeof value === 'string') {
    const bytes = Buffer.byteLength(value);
    if (bytes > MAX_CONFIG_VALUE_BYTES) out.push({ path, bytes });
  } else if (path.length >= MAX_CONFIG_DEPTH) {
    return;
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => oversizedValues(v, [...path, i], out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) oversizedValues(v, [...path, k], out);
  }
}

/** Run the schema; every problem becomes a located ConfigIssue. Throws ConfigError. */
export function validateInput(raw: unknown, spots: SpotMap, file: string, format: 'yaml' | 'xlcfg'): DomainConfig {
  const checked = checkConfig(raw, configWording(format === 'yaml' ? 'name: web' : 'name = "web"'));
  if (checked.ok) return checked.value;
  const issues: ConfigIssue[] = checked.issues.map((f) => ({ ...locate(spots, file, f.path, f.isKey, f.offset), key: formatPath(f.path), message: f.message }));
  issues.sort((a, b) => (a.file === b.file ? a.line - b.line || a.column - b.column : 0));
  throw new ConfigError(issues);
}

/**
 * What is valid but will not do what it says: values xenemu does not emulate,
 * settings xl ignores in the presence of others. `raw` is the validated input.
 */
export function lintConfig(raw: Record<string, unknown>, config: DomainConfig, spots: SpotMap, file: string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const warn = (path: ConfigPath, message: string, offset?: number): void => {
    out.push({ ...locate(spots, file, path, false, offset), key: formatPath(path), message });
  };

  // Items inside spec strings: deprecated forms, COLO and the like.
  const rawDisks = Array.isArray(raw.disk) ? (raw.disk as unknown[]) : [];
  rawDisks.forEach((d, i) => {
    if (typeof d === 'string') for (const w of parseDiskSpec(d).warnings) warn(['disk', i], w.message, w.offset);
  });
  const rawVifs = Array.isArray(raw.vif) ? (raw.vif as unknown[]) : [];
  rawVifs.forEach((v, i) => {
    if (typeof v !== 'string') return;
    const parsed = parseVifSpec(v);
    // What parse_nic_config() refuses it says on stderr and goes on without: xenemu warns.
    for (const w of [...parsed.warnings, ...parsed.refused]) warn(['vif', i], w.message, w.offset);
  });

  config.disk.forEach((d, i) => {
    if (d.format !== 'raw' && d.format !== 'empty') {
      warn(['disk', i], `format ${d.format} is not emulated: xenemu serves raw images (convert one with qemu-img convert -O raw)`);
    }
    if (d.specification === 'virtio') warn(['disk', i], 'virtio disks are not emulated: the disk is offered as a Xen vbd');
    if (d.backendtype !== undefined && d.backendtype !== 'phy') {
      warn(['disk', i], `backendtype ${d.backendtype} is not emulated: xenemu's blkback serves every disk`);
    }
  });

  const macs = new Map<string, number>();
  config.vif.forEach((v, i) => {
    const first = parseInt(v.mac.slice(0, 2), 16);
    if (first & 1) warn(['vif', i], `mac ${v.mac} is a multicast address: a NIC needs a unicast one (clear bit 0 of the first byte)`);
    const prev = macs.get(v.mac);
    if (prev !== undefined) warn(['vif', i], `mac ${v.mac} is also used by vif[${prev}]`);
    macs.set(v.mac, i);
    if (config.type !== 'hvm' && (v.type === 'ioemu' || v.model !== undefined)) {
      warn(['vif', i], `type=ioemu and model apply to HVM guests; this ${config.type} guest gets a PV vif`);
    }
  });

  if (config.cmdline !== undefined) {
    for (const k of ['root', 'extra'] as const) {
      if (config[k] !== undefined) warn([k], `${k} is ignored in favour of cmdline (as xl does)`);
    }
  }
  if (config.viridian !== false && config.type !== 'hvm') warn(['viridian'], `viridian applies to HVM guests only; it is ignored for a ${config.type} guest`);
  if (config.type !== 'hvm' && raw.xenemu && typeof raw.xenemu === 'object' && 'callback' in raw.xenemu) {
    warn(['xenemu', 'callback'], `callback applies to HVM guests only; a ${config.type} guest gets its upcall through its registered vector`);
  }
  if (config.maxmem < config.memory) {
    warn(
      [raw.maxmem !== undefined ? 'maxmem' : 'memory'],
      `maxmem (${config.maxmem} MiB) is less than memory (${config.memory} MiB): the guest gets memory, and maxmem as its static maximum (xl and libxl take this too)`,
    );
  }
  if (config.maxvcpus > MAX_VCPUS) {
    const key = raw.maxvcpus ? 'maxvcpus' : 'vcpus';
    warn([key], `${config.maxvcpus} vCPUs: xenemu's hypervisor runs at most ${MAX_VCPUS} per domain (as Xen's do for HVM guests), so create will fail`);
  }
  for (const k of ['cpus', 'cpus_soft'] as const) {
    const v = config[k];
    if (Array.isArray(v) && v.length > config.maxvcpus) {
      warn([k], `${v.length} entries for ${config.maxvcpus} vCPU${config.maxvcpus === 1 ? '' : 's'}: the extra entries are ignored (as xl does)`);
    }
  }
  return out;
}

/**
 * The config with relative paths made absolute against `baseDir` (the config file's
 * directory): disk targets that are paths (no script), vif captures, kernel and ramdisk.
 * diskTargetProblem() has already refused relative targets that climb out of it.
 */
export function resolveConfigPaths(config: DomainConfig, baseDir: string): DomainConfig {
  const abs = (p: string | undefined): string | undefined => (p === undefined || p === '' || isAbsolute(p) ? p : resolve(baseDir, p));
  const out: DomainConfig = {
    ...config,
    disk: config.disk.map((d) => (d.target === undefined || d.script !== undefined ? d : { ...d, target: abs(d.target)! })),
    vif: config.vif.map((v) => (v.capture === undefined ? v : { ...v, capture: abs(v.capture)! })),
  };
  if (config.kernel !== undefined) out.kernel = abs(config.kernel)!;
  if (config.ramdisk !== undefined) out.ramdisk = abs(config.ramdisk)!;
  return out;
}
