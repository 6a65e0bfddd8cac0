/**
 * `xenemu create vm.cfg memory=1024 'vif=["bridge=br1"]'`: KEY=VALUE arguments after
 * the config file, as xl create takes them. xl appends them to the file's text, one
 * per line ("\n%s\n" in create_domain(), xl_vmcontrol.c), so they are statements of
 * the xl.cfg grammar that come last: `KEY=VALUE` replaces, `KEY+=VALUE` appends. The
 * same statements apply to a YAML config, through the same key mapping.
 */

import { ConfigError, type ConfigIssue } from './errors.js';
import { SpotMap } from './spots.js';
import { applyBuilder, getPath, mapXlSetting, setPath, spotOf } from './xlcfg.js';
import { parseXlCfgSettings, type XlSetting } from './xlcfg-syntax.js';

/** How override arguments are named in diagnostics: `<command line>:N:C`, N counting arguments. */
export const OVERRIDE_SOURCE = '<command line>';

/** Parse override arguments into xl.cfg settings. Throws ConfigError. */
export function parseOverrides(overrides: readonly string[]): XlSetting[] {
  const out: XlSetting[] = [];
  overrides.forEach((arg, i) => {
    if (!arg.includes('=')) {
      throw ConfigError.at(
        { file: OVERRIDE_SOURCE, line: i + 1, column: 1 },
        '',
        `"${arg}" is not a KEY=VALUE override (e.g. memory=1024, or 'vif=["bridge=br1"]')`,
      );
    }
    out.push(...parseXlCfgSettings(arg, OVERRIDE_SOURCE, i + 1));
  });
  return out;
}

/**
 * Apply override settings, in order, to an input object read from YAML, with the
 * meaning they have in an xl.cfg: replace, or (+=) append a string to a string and a
 * list to a list. Records where each new value came from. Throws ConfigError.
 */
export function applyOverrides(raw: Record<string, unknown>, spots: SpotMap, settings: readonly XlSetting[], warnings: ConfigIssue[]): void {
  const issues: ConfigIssue[] = [];
  for (const s of settings) {
    const resolved = { name: s.name, value: s.value, op: s.op, spot: s.spot };
    if (s.name === 'builder') {
      applyBuilder(resolved, raw, spots, issues, warnings);
      continue;
    }
    const tmp = new SpotMap();
    const r = mapXlSetting(resolved, tmp, issues, warnings);
    if (!r) continue;
    const existing = getPath(raw, r.path);
    if (s.op === '+=' && existing !== undefined) {
      if (typeof existing === 'string' && typeof r.value === 'string') {
        setPath(raw, r.path, existing + r.value);
        spots.clear(r.path);
        const { contentColumn: _drop, ...spot } = spotOf(s.value);
        spots.set(r.path, spot);
      } else if (Array.isArray(existing) && Array.isArray(r.value)) {
        setPath(raw, r.path, [...(existing as unknown[]), ...(r.value as unknown[])]);
        for (const [path, spot] of tmp.entries()) {
          if (path.length === r.path.length + 1) spots.set([...r.path, existing.length + (path[path.length - 1] as number)], spot);
        }
      } else {
        issues.push({
          file: s.spot.file,
          line: s.value.line,
          column: s.value.column,
          key: s.name,
          message: `can't add ${Array.isArray(r.value) ? 'a [list]' : 'a "string"'} to the config's ${Array.isArray(existing) ? 'list' : typeof existing}: += appends a string to a string or a list to a list`,
        });
      }
      continue;
    }
    setPath(raw, r.path, r.value);
    spots.clear(r.path);
    for (const [path, spot] of tmp.entries()) spots.set(path, spot);
  }
  if (issues.length > 0) throw new ConfigError(issues);
}
