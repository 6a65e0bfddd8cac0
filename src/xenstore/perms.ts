import { xsFail } from './errors.js';

/**
 * Node permissions: a list of `<letter><domid>` entries. Entry 0 names the owner and
 * its letter is the access of every domain not listed after it; the owner itself
 * always has full access. Letters: r read, w write, b both, n none.
 *
 * Lists are interned: the same list is one frozen object however many nodes carry it,
 * which keeps a million-node store small (nodes inherit their parent's list). Interning
 * is only a memory saving, never a semantic: equality is by `text`.
 */

export const PERM_NONE = 0;
export const PERM_READ = 1;
export const PERM_WRITE = 2;
export const PERM_BOTH = 3;
export type Access = typeof PERM_READ | typeof PERM_WRITE;

const LETTER_ACCESS: Record<string, number> = { n: PERM_NONE, r: PERM_READ, w: PERM_WRITE, b: PERM_BOTH };
const ACCESS_LETTER = ['n', 'r', 'w', 'b'] as const;

export interface PermEntry {
  readonly domid: number;
  readonly access: number;
}

export interface Perms {
  readonly owner: number;
  /** Access of domains not listed in `acl` (the owner entry's letter). */
  readonly other: number;
  readonly acl: readonly PermEntry[];
  /** Wire form: entries each followed by NUL, e.g. "n0\0r5\0". */
  readonly wire: string;
  /** Display form used by xenstore-ls -p and the database: "n0,r5". */
  readonly text: string;
}

const interned = new Map<string, Perms>();
/** Past this many distinct lists the table restarts, so guests cannot grow it forever. */
const INTERN_LIMIT = 65536;

function intern(entries: PermEntry[]): Perms {
  const text = entries.map((e) => `${ACCESS_LETTER[e.access]}${e.domid}`).join(',');
  const existing = interned.get(text);
  if (existing) return existing;
  const [first, ...rest] = entries;
  if (!first) xsFail('EINVAL', 'empty permission list');
  const perms: Perms = Object.freeze({
    owner: first.domid,
    other: first.access,
    acl: Object.freeze(rest.map((e) => Object.freeze(e))),
    wire: entries.map((e) => `${ACCESS_LETTER[e.access]}${e.domid}\0`).join(''),
    text,
  });
  if (interned.size >= INTERN_LIMIT) interned.clear();
  interned.set(text, perms);
  return perms;
}

/** The default of a fresh store's root: owned by dom0, no access for others. */
export const DEFAULT_PERMS = intern([{ domid: 0, access: PERM_NONE }]);

/**
 * Parse one `<letter><domid>` entry. Domids are 16-bit on the wire's domain ABI;
 * anything that is not a plain decimal number is EINVAL.
 */
export function parsePermEntry(s: string): PermEntry {
  const access = LETTER_ACCESS[s.charAt(0)];
  const id = s.slice(1);
  if (access === undefined || !/^[0-9]{1,5}$/.test(id) || Number(id) > 0xffff) {
    xsFail('EINVAL', `invalid permission '${s}'`);
  }
  return { domid: Number(id), access };
}

export function permsFromEntries(entries: readonly string[]): Perms {
  if (entries.length === 0) xsFail('EINVAL', 'no permissions given');
  return intern(entries.map(parsePermEntry));
}

/** Parse the display form "n0,r5" (the database and CLI use it). */
export function permsFromText(text: string): Perms {
  return interned.get(text) ?? permsFromEntries(text.split(','));
}

/** The same list with a different owner (entry 0's letter is kept). */
export function withOwner(perms: Perms, owner: number): Perms {
  if (perms.owner === owner) return perms;
  return intern([{ domid: owner, access: perms.other }, ...perms.acl]);
}

/** The same list without any entry for `domid` (used when a domain goes away). */
export function withoutDomain(perms: Perms, domid: number): Perms {
  if (perms.owner === domid) return perms;
  if (!perms.acl.some((e) => e.domid === domid)) return perms;
  return intern([{ domid: perms.owner, access: perms.other }, ...perms.acl.filter((e) => e.domid !== domid)]);
}

/** Whether `domid` (or the domain it is the target of) has `access` on a node. */
export function permits(perms: Perms, domid: number, target: number | null, access: Access): boolean {
  if (perms.owner === domid || (target !== null && perms.owner === target)) return true;
  return grants(perms, domid, access) || (target !== null && grants(perms, target, access));
}

function grants(perms: Perms, domid: number, access: Access): boolean {
  let level = perms.other;
  for (const e of perms.acl) {
    if (e.domid === domid) {
      level = e.access;
      break;
    }
  }
  return (level & access) !== 0;
}
