import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { XenemuError } from '../common/errors.js';

/**
 * Where captures go: `<state dir>/captures/`, one file per vif (`<domain>-<vif>.pcap`)
 * and per bridge (`bridge-<name>.pcap`), unless a vif spec's `capture=` names its own.
 */
export const CAPTURES_DIR = 'captures';

/** Names that become file names: no separators, no dot-only names, nothing invisible. */
function fileSafe(what: string, name: string): string {
  if (name === '' || name === '.' || name === '..' || /[/\\]/.test(name) || [...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    throw new XenemuError('EINVAL', `${what} "${name}" cannot be part of a capture file name`);
  }
  return name;
}

/** The default capture of a vif: `<home>/captures/<domain>-<vif>.pcap`. */
export function vifCapturePath(home: string, domain: string, vif: string): string {
  return join(home, CAPTURES_DIR, `${fileSafe('domain name', domain)}-${fileSafe('vif name', vif)}.pcap`);
}

/** A bridge's own capture: `<home>/captures/bridge-<name>.pcap`. */
export function bridgeCapturePath(home: string, bridge: string): string {
  return join(home, CAPTURES_DIR, `bridge-${fileSafe('bridge name', bridge)}.pcap`);
}

/**
 * The file a vif spec's `capture=` names. An absolute path is the user's choice, as
 * xl takes `script=` or a disk's target; a relative one is under the captures folder
 * and may not climb out of it (`capture=../../.ssh/x` is refused, not followed), so a
 * spec handed over by someone else cannot aim the daemon's writes elsewhere by
 * accident. NUL bytes are refused everywhere.
 */
export function specCapturePath(home: string, capture: string): string {
  if (capture === '' || capture.includes('\0')) throw new XenemuError('EINVAL', `capture=${JSON.stringify(capture)}: not a file name`);
  if (isAbsolute(capture)) return resolve(capture);
  const base = join(home, CAPTURES_DIR);
  const path = resolve(base, capture);
  const rel = relative(base, path);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new XenemuError('EINVAL', `capture=${capture}: a relative capture path must stay inside ${base} (give an absolute path to capture elsewhere)`);
  }
  return path;
}
