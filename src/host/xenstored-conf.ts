import type { QuotaLimits } from '../xenstore/quota.js';
import { readOptionalFile } from '../common/optional-file.js';
import { XenemuError } from '../common/errors.js';

/**
 * Limits from an oxenstored.conf-style file (`key = value`, `#` comments), so that an
 * administrator's existing settings carry over. Only the quota keys mean something
 * here; other oxenstored keys are accepted and ignored, unknown keys are an error.
 */
const QUOTA_KEYS: Readonly<Record<string, keyof QuotaLimits>> = {
  'quota-maxentity': 'nodes',
  'quota-maxsize': 'nodeSize',
  'quota-maxwatch': 'watches',
  'quota-transaction': 'transactions',
  'quota-maxoutstanding': 'outstanding',
  'quota-maxwatchevents': 'watchEvents',
  'quota-maxrequests': 'transactionNodes',
  'quota-path-max': 'pathMax',
  'quota-permissions': 'permissions',
};

const IGNORED_KEYS = new Set([
  'pid-file', 'test-eagain', 'merge-activate', 'conflict-burst-limit', 'conflict-max-history-seconds',
  'conflict-rate-limit-is-aggregate', 'perms-activate', 'perms-watch-activate', 'quota-activate',
  'persistent', 'xenstored-log-file', 'xenstored-log-level', 'xenstored-log-nb-files',
  'xenstored-log-nb-lines', 'xenstored-log-nb-chars', 'access-log-file', 'access-log-nb-files',
  'access-log-nb-lines', 'access-log-nb-chars', 'access-log-special-ops', 'xenstored-kva', 'xenstored-port',
]);

export class ConfError extends XenemuError {
  constructor(message: string) {
    super('EINVAL', message);
  }
}

export function parseXenstoredConf(text: string, file: string): Partial<QuotaLimits> {
  const limits: Partial<QuotaLimits> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const eq = line.indexOf('=');
    if (eq < 0) throw new ConfError(`${file}:${i + 1}:1: expected "key = value", got "${line}"`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    const quota = QUOTA_KEYS[key];
    if (quota !== undefined) {
      if (!/^[0-9]+$/.test(value)) {
        throw new ConfError(`${file}:${i + 1}:${raw.indexOf(value) + 1}: ${key} must be a whole number, got "${value}"`);
      }
      limits[quota] = Number(value);
    } else if (!IGNORED_KEYS.has(key)) {
      throw new ConfError(`${file}:${i + 1}:1: unknown key "${key}" (known: ${Object.keys(QUOTA_KEYS).join(', ')})`);
    }
  });
  return limits;
}

/** The file's limits, or none when it does not exist. */
export function readXenstoredConf(file: string): Partial<QuotaLimits> {
  const text = readOptionalFile(file);
  if (text === null) return {};
  return parseXenstoredConf(text, file);
}
