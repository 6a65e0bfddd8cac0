import { xsFail } from './errors.js';

/**
 * XenStore path rules (docs/misc/xenstore.txt, checked against oxenstored 4.17):
 * absolute paths start with '/', names use [A-Za-z0-9_@-], no empty names (so no '//'
 * and no trailing '/', except the root itself). A path without a leading '/' is
 * relative to the caller's home, /local/domain/<domid>/. A path starting with '@'
 * names a special node such as @introduceDomain.
 *
 * The length limit is measured as oxenstored measures it: for anything under
 * /local/domain/<N>/ only the part after that prefix counts, so a path stays valid
 * when a domain migrates to a domid with more digits.
 */

export interface PathLimits {
  /** Longest path in bytes (oxenstored.conf quota-path-max; Debian ships 1024). */
  pathMax: number;
}

const VALID = new Uint8Array(256);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-@') VALID[c.charCodeAt(0)] = 1;

const SLASH = 0x2f;
const AT = 0x40;

export function isValidName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) if (VALID[name.charCodeAt(i)] !== 1) return false;
  return true;
}

/** True for '/', or '/' followed by valid names separated by single slashes. */
export function isValidAbsolute(path: string): boolean {
  if (path.charCodeAt(0) !== SLASH) return false;
  if (path.length === 1) return true;
  let nameLen = 0;
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === SLASH) {
      if (nameLen === 0) return false;
      nameLen = 0;
    } else if (VALID[c] !== 1) {
      return false;
    } else {
      nameLen++;
    }
  }
  return nameLen > 0;
}

export function domainHome(domid: number): string {
  return `/local/domain/${domid}`;
}

const LOCAL_DOMAIN = '/local/domain/';

/** Length of a path as the limit sees it: the part below /local/domain/<N>/ if it is there. */
function limitedLength(abs: string): number {
  if (!abs.startsWith(LOCAL_DOMAIN)) return abs.length;
  let i = LOCAL_DOMAIN.length;
  const digitsStart = i;
  while (i < abs.length && abs.charCodeAt(i) >= 0x30 && abs.charCodeAt(i) <= 0x39) i++;
  if (i === digitsStart || abs.charCodeAt(i) !== SLASH) return abs.length;
  return abs.length - (i + 1);
}

/**
 * Resolve a node path from the wire to its canonical absolute form, or fail with
 * EINVAL. Special '@' paths map to a child of the root, as oxenstored stores them.
 */
export function resolvePath(raw: string, domid: number, limits: PathLimits): string {
  if (raw.length === 0) xsFail('EINVAL', 'empty path');
  const first = raw.charCodeAt(0);
  let abs: string;
  if (first === SLASH) abs = raw;
  else if (first === AT) abs = '/' + raw;
  else abs = `${LOCAL_DOMAIN}${domid}/${raw}`;
  if (limitedLength(first === AT ? raw : abs) > limits.pathMax) xsFail('EINVAL', 'path too long');
  if (first === AT) {
    if (!isSpecialName(raw)) xsFail('EINVAL', `invalid special path ${raw}`);
    return abs;
  }
  if (!isValidAbsolute(abs)) xsFail('EINVAL', `invalid path ${raw}`);
  return abs;
}

/** '@' followed by valid name characters, e.g. @introduceDomain. */
function isSpecialName(raw: string): boolean {
  return raw.length > 1 && isValidName(raw.slice(1));
}

/** The parent of an absolute path ('/' for top-level names and for '/' itself). */
export function parentPath(abs: string): string {
  const i = abs.lastIndexOf('/');
  return i <= 0 ? '/' : abs.slice(0, i);
}

export function baseName(abs: string): string {
  return abs.slice(abs.lastIndexOf('/') + 1);
}

export function joinPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** True if `path` is `ancestor` or lies below it. */
export function isAtOrBelow(path: string, ancestor: string): boolean {
  if (ancestor === '/') return path.charCodeAt(0) === SLASH;
  return path === ancestor || (path.startsWith(ancestor) && path.charCodeAt(ancestor.length) === SLASH);
}

/** Number of names in an absolute path ('/' has 0). */
export function pathDepth(abs: string): number {
  if (abs === '/') return 0;
  let n = 0;
  for (let i = 0; i < abs.length; i++) if (abs.charCodeAt(i) === SLASH) n++;
  return n;
}
