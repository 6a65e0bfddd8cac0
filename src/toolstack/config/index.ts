/**
 * Domain configs, the toolstack's input: YAML (xenemu's own format, with
 * configs/schema.json for editors) or a real xl.cfg, plus xl-style KEY=VALUE
 * overrides, read into one normalised DomainConfig.
 *
 * Relative paths in a config (disk targets, kernel, ramdisk) are resolved against
 * the config file's directory, never the daemon's working directory or the state
 * directory; a relative disk target may not climb out of that directory with "..",
 * so a config can only make the daemon write where its author points (an absolute
 * path is such a pointer).
 */

import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { parseDiskSpec } from './disk-spec.js';
import { ConfigError, type ConfigWarning } from './errors.js';
import { applyOverrides, parseOverrides } from './overrides.js';
import type { DomainConfig } from './schema.js';
import { SpotMap } from './spots.js';
import { parseVifSpec } from './vif-spec.js';
import { lintConfig, resolveConfigPaths, validateInput } from './validate.js';
import { mapXlSettings, XL_NOT_EMULATED_KEYS } from './xlcfg.js';
import { parseXlCfgSettings, resolveSettings, type ResolvedSetting, type XlValue } from './xlcfg-syntax.js';
import { loadYamlText } from './yaml.js';

export { ConfigError, formatIssue, formatPath, isVerboseOnly, warningsToShow, type ConfigIssue, type ConfigLocation, type ConfigWarning } from './errors.js';
export {
  DomainConfigInputSchema,
  DomainConfigSchema,
  DiskSpecField,
  DiskSpecObject,
  domainNameProblem,
  finishVif,
  VifSpecField,
  kernelCommandLine,
  MAX_NAME_LENGTH,
  MAX_VCPUS,
  VIRIDIAN_ENLIGHTENMENTS,
  type DiskSpec,
  type DomainConfig,
  type DomainConfigInput,
  type EventSource,
  type VifSpec,
  type VifSpecInput,
} from './schema.js';
export { checkConfig, checkValue, DomainConfigField, PLAIN_WORDING, type ExplainedIssue, type IssueWording } from './validate.js';
export { vdevToDevid, decodeVdev } from './vdev.js';
export { parseVifRate, generateMac, normaliseMac, type VifRate } from './vif-spec.js';
export { expandCpuList } from './cpulist.js';
export { toXlCfg, toYaml } from './convert.js';
export { OVERRIDE_SOURCE } from './overrides.js';
export { givenKeysOf, storeGivenKeys, StoredGivenKeysField, type StoredGivenKeys } from './given-keys.js';

export type ConfigFormat = 'yaml' | 'xlcfg';

export interface LoadedDomainConfig {
  config: DomainConfig;
  warnings: ConfigWarning[];
  format: ConfigFormat;
  /** The keys each disk and vif spelled out (see givenKeys). */
  given: GivenKeys;
}

/**
 * What an xl.cfg spelled out, defaults included: the config is normalised (a default
 * written and one left out look alike), but xl's parse sets a field it reads even to
 * its default, leaves one it does not to libxl, and `xl create -n` prints just what it
 * set (no vcpus: no max_vcpus; bridge=xenbr0, discard, an empty cdrom's target of "").
 * A YAML config is not xl's syntax: it prints as its xl.cfg conversion, which names
 * the top-level keys and leaves the specs' defaults out.
 */
export interface GivenKeys {
  /** The keys an xl.cfg set (vcpus, memory...); undefined for YAML, printed as its conversion, which names them all. */
  keys?: ReadonlySet<string>;
  /** An xl.cfg's keys xenemu does not emulate, with their values (xl still prints them). */
  notEmulated?: ReadonlyMap<string, XlPlain>;
  disk: ReadonlySet<string>[];
  vif: ReadonlySet<string>[];
}

/** A setting's value as plain data: an atom, or a list. */
export type XlPlain = string | readonly XlPlain[];

const plain = (v: XlValue): XlPlain => (v.kind === 'string' ? v.value : v.items.map(plain));

function givenKeys(raw: Record<string, unknown>, settings: ReadonlyMap<string, ResolvedSetting> | null): GivenKeys {
  const keysOf = (items: unknown, parseSpec: (s: string) => object): ReadonlySet<string>[] =>
    (Array.isArray(items) ? items : []).map((i) => new Set(typeof i === 'string' ? Object.keys(parseSpec(i)) : []));
  return {
    ...(settings !== null
      ? {
          keys: new Set(Object.keys(raw)),
          notEmulated: new Map([...settings].filter(([k]) => XL_NOT_EMULATED_KEYS.has(k)).map(([k, s]) => [k, plain(s.value)])),
        }
      : {}),
    disk: keysOf(raw.disk, (s) => parseDiskSpec(s).fields),
    vif: keysOf(raw.vif, (s) => parseVifSpec(s).fields),
  };
}

export interface ParseOptions {
  /** xl-style KEY=VALUE (or KEY+=VALUE) statements applied after the config. */
  overrides?: readonly string[];
  /** Resolve relative paths against this directory (loadDomainConfig passes the file's). */
  baseDir?: string;
}

/**
 * YAML or xl.cfg: by extension (.yaml/.yml, .cfg/.xl), else by the first line that
 * is not blank or a comment (`key = ...` is xl.cfg; anything else is read as YAML).
 */
export function detectConfigFormat(path: string, text: string): ConfigFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.cfg' || ext === '.xl') return 'xlcfg';
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) continue;
    return /^[A-Za-z_][A-Za-z0-9_.]*\s*\+?=/.test(l) ? 'xlcfg' : 'yaml';
  }
  return 'yaml';
}

function parse(text: string, format: ConfigFormat, file: string, options: ParseOptions): LoadedDomainConfig {
  const overrides = parseOverrides(options.overrides ?? []);
  let raw: Record<string, unknown>;
  let spots: SpotMap;
  let warnings: ConfigWarning[];
  let resolved: Map<string, ResolvedSetting> | null = null;
  if (format === 'xlcfg') {
    // As xl does: the overrides are statements after the file's last line.
    resolved = resolveSettings([...parseXlCfgSettings(text, file), ...overrides]);
    ({ raw, spots, warnings } = mapXlSettings(resolved));
  } else {
    ({ raw, spots, warnings } = loadYamlText(text, file));
    applyOverrides(raw, spots, overrides, warnings);
  }
  let config = validateInput(raw, spots, file, format);
  warnings.push(...lintConfig(raw, config, spots, file));
  if (options.baseDir !== undefined) config = resolveConfigPaths(config, options.baseDir);
  return { config, warnings, format, given: givenKeys(raw, resolved) };
}

/**
 * Parse a config held in memory. `fileLabel` names it in diagnostics. Throws
 * ConfigError, and nothing else, for any input.
 */
export function parseDomainConfigText(text: string, format: ConfigFormat, fileLabel: string, options: ParseOptions = {}): LoadedDomainConfig {
  try {
    return parse(text, format, fileLabel, options);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    // A bug, not a bad config; still answer with the one error type callers handle.
    throw ConfigError.at({ file: fileLabel, line: 1, column: 1 }, '', `internal error while reading the config: ${(e as Error)?.message ?? String(e)}`);
  }
}

export interface LoadOptions {
  /** false: keep relative paths as written (tools that rewrite the config). */
  resolvePaths?: boolean;
  /** How diagnostics name the file (default: `path`): the daemon reads by absolute path what the user named relatively. */
  label?: string;
  /**
   * Read only a regular file, and never wait to open one: the daemon reads configs for
   * the CLI (domain.createFile), and a FIFO or a device (/dev/zero) would hold it.
   */
  regularFileOnly?: boolean;
}

/**
 * Read a config file (YAML or xl.cfg, detected), apply xl-style KEY=VALUE overrides,
 * validate, and resolve relative paths against the file's directory (unless
 * `resolvePaths: false`, for tools that rewrite the config). Throws ConfigError
 * with .file/.line/.column/.key.
 */
export function loadDomainConfig(path: string, overrides: readonly string[] = [], options: LoadOptions = {}): LoadedDomainConfig {
  const label = options.label ?? path;
  const text = readConfigFile(path, label, options.regularFileOnly ?? false);
  const parseOptions: ParseOptions = { overrides };
  if (options.resolvePaths !== false) parseOptions.baseDir = dirname(resolve(path));
  return parseDomainConfigText(text, detectConfigFormat(path, text), label, parseOptions);
}

/**
 * The largest config file read. A domain config is a few hundred bytes; a file far
 * bigger is a mistake (or a value pasted in by accident), and reading it whole would
 * cost its size several times over in memory before any value is checked.
 */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/** The text of a config file, or a ConfigError (at `label`) saying why it cannot be read. */
function readConfigFile(path: string, label: string, regularFileOnly: boolean): string {
  const at = { file: label, line: 1, column: 1 };
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    fd = openSync(path, regularFileOnly ? constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY : 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw ConfigError.at(at, '', `cannot read the config file: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (regularFileOnly && !stat.isFile()) throw ConfigError.at(at, '', 'cannot read the config file: not a regular file');
    if (stat.size > MAX_CONFIG_FILE_BYTES) {
      throw ConfigError.at(at, '', `the config file is ${stat.size} bytes; xenemu reads configs of at most ${MAX_CONFIG_FILE_BYTES} bytes (1 MiB)`);
    }
    return readFileSync(fd, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw ConfigError.at(at, '', `cannot read the config file: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}
