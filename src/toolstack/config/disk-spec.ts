/**
 * The DISKSPEC grammar of xl-disk-configuration(5), ported rule for rule from the
 * flex scanner libxlu_disk_l.l (Xen 4.17) and the checks after it in libxlu_disk.c.
 *
 * A spec is scanned as flex does: at each position every rule is tried, the longest
 * match wins and ties go to the earlier rule. Trailing context (`/.*` on the
 * deprecated prefixes, the whitespace rule) counts toward the length but is not
 * consumed; that is how `raw:` and friends take precedence over a positional value.
 * Positional values fill target, format, vdev, access in that order; `target=`
 * swallows the rest of the spec, commas included, so it must come last.
 */

import { XenemuError } from '../../common/errors.js';

/** The structured fields one spec string sets, before defaults (xl's names). */
export interface DiskSpecFields {
  target?: string;
  format?: string;
  vdev?: string;
  access?: string;
  devtype?: 'disk' | 'cdrom';
  backend?: string;
  backendtype?: string;
  script?: string;
  'direct-io-safe'?: boolean;
  discard?: boolean;
  trusted?: boolean;
  specification?: string;
}

export interface DiskSpecParse {
  fields: DiskSpecFields;
  /** Items xl accepts but xenemu does not act on, and deprecated forms, with their offsets. */
  warnings: { message: string; offset: number }[];
}

/** A spec xl would reject; `offset` is where in the spec string the problem starts. */
export class DiskSpecError extends XenemuError {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super('EINVAL', message);
  }
}

export const DISK_FORMATS = ['raw', 'qcow', 'qcow2', 'vhd', 'qed', 'empty'] as const;
export const DISK_BACKENDTYPES = ['phy', 'tap', 'qdisk', 'standalone'] as const;
export const DISK_SPECIFICATIONS = ['xen', 'virtio'] as const;

interface Rule {
  /** Sticky regex for the consumed text. */
  re: RegExp;
  /** Trailing context after it, counted in the match length (flex `r/s`). */
  trail?: RegExp;
  action: (text: string, ctx: ScanContext, at: number) => void;
}

interface ScanContext {
  fields: DiskSpecFields;
  warnings: { message: string; offset: number }[];
  hadDeprecatedPrefix: boolean;
  accessSet: boolean;
}

/** STRIP(','): chop the delimiter the pattern may have eaten. */
const strip = (text: string, delim: string): string => (text.endsWith(delim) ? text.slice(0, -1) : text);
const fromEquals = (text: string): string => text.slice(text.indexOf('=') + 1);

/** SAVESTRING: a string may be set once, except that an empty one may be overwritten. */
function saveString(ctx: ScanContext, what: keyof DiskSpecFields & ('target' | 'vdev' | 'backend' | 'script'), value: string, at: number): void {
  const prev = ctx.fields[what];
  if (prev !== undefined && prev !== '') throw new DiskSpecError(`${what} respecified near "${value}"`, at);
  ctx.fields[what] = value;
}

/** DSET on an enum: setting the same value twice is fine, another value is an error. */
function setEnum(ctx: ScanContext, what: 'format' | 'backendtype' | 'specification', value: string, at: number): void {
  const prev = ctx.fields[what];
  if (prev !== undefined && prev !== value) throw new DiskSpecError(`${what} respecified near "${value}"`, at);
  ctx.fields[what] = value;
}

function setFormat(ctx: ScanContext, value: string, at: number): void {
  const v = value === '' ? 'raw' : value;
  if (!(DISK_FORMATS as readonly string[]).includes(v)) {
    throw new DiskSpecError(`unknown value for format near "${value}": use one of ${DISK_FORMATS.join(', ')}`, at);
  }
  setEnum(ctx, 'format', v, at);
}

function setAccess(ctx: ScanContext, value: string, at: number): void {
  if (value === 'r' || value === 'ro') ctx.fields.access = 'ro';
  else if (value === 'w' || value === 'rw' || value === '') ctx.fields.access = 'rw';
  else throw new DiskSpecError(`unknown value for access near "${value}": use ro (or r) for read-only, rw (or w) for read-write`, at);
}

/** A positional `<vdev>:<devtype>` (deprecated); returns false when there is no colon. */
function vdevAndDevtype(ctx: ScanContext, text: string, at: number): boolean {
  const colon = text.lastIndexOf(':');
  if (colon < 0) return false;
  saveString(ctx, 'vdev', text.slice(0, colon), at);
  const type = text.slice(colon + 1);
  if (type === 'cdrom') ctx.fields.devtype = 'cdrom';
  else if (type === 'disk') ctx.fields.devtype = 'disk';
  else throw new DiskSpecError(`unknown deprecated type near "${type}": use cdrom or disk`, at + colon + 1);
  return true;
}

function notEmulated(ctx: ScanContext, text: string, at: number, what: string): void {
  ctx.warnings.push({ message: `"${strip(text, ',')}" (${what}) is not emulated and was ignored`, offset: at });
}

const keyed = (key: string, action: (value: string, ctx: ScanContext, at: number) => void): Rule => ({
  re: new RegExp(`${key}=[^,]*,?`, 'y'),
  action: (text, ctx, at) => action(fromEquals(strip(text, ',')), ctx, at + key.length + 1),
});

const flag = (word: string, action: (ctx: ScanContext, text: string, at: number) => void): Rule => ({
  re: new RegExp(`${word},?`, 'y'),
  action: (text, ctx, at) => action(ctx, text, at),
});

const prefix = (re: string, action: (name: string, ctx: ScanContext, at: number) => void): Rule => ({
  re: new RegExp(`(?:${re}):`, 'y'),
  trail: /[^\n]*/y,
  action: (text, ctx, at) => {
    ctx.hadDeprecatedPrefix = true;
    action(strip(text, ':'), ctx, at);
  },
});

/** The rules of libxlu_disk_l.l, in its order (the order breaks ties). */
const RULES: Rule[] = [
  // Whitespace before parameters is ignored. Its trailing context (the rest of the
  // line) makes it win over a positional parameter that would start with blanks.
  { re: /[ \t\n]+/y, trail: /(?:[^ \t\n][^\n]*)?/y, action: () => {} },

  keyed('format', (v, ctx, at) => setFormat(ctx, v, at)),
  flag('cdrom', (ctx) => (ctx.fields.devtype = 'cdrom')),
  flag('devtype=cdrom', (ctx) => (ctx.fields.devtype = 'cdrom')),
  flag('devtype=disk', (ctx) => (ctx.fields.devtype = 'disk')),
  keyed('devtype', (v, _ctx, at) => {
    throw new DiskSpecError(`unknown value for devtype near "${v}": use cdrom or disk`, at);
  }),
  keyed('access', (v, ctx, at) => setAccess(ctx, v, at)),
  keyed('backend', (v, ctx, at) => saveString(ctx, 'backend', v, at)),
  keyed('backendtype', (v, ctx, at) => {
    if (!(DISK_BACKENDTYPES as readonly string[]).includes(v)) {
      throw new DiskSpecError(`unknown value for backendtype near "${v}": use one of ${DISK_BACKENDTYPES.join(', ')}`, at);
    }
    setEnum(ctx, 'backendtype', v, at);
  }),
  keyed('specification', (v, ctx, at) => {
    if (!(DISK_SPECIFICATIONS as readonly string[]).includes(v)) {
      throw new DiskSpecError(`unknown value for specification near "${v}": use xen or virtio`, at);
    }
    setEnum(ctx, 'specification', v, at);
  }),
  keyed('vdev', (v, ctx, at) => saveString(ctx, 'vdev', v, at)),
  keyed('script', (v, ctx, at) => saveString(ctx, 'script', v, at)),
  flag('direct-io-safe', (ctx) => (ctx.fields['direct-io-safe'] = true)),
  flag('discard', (ctx) => (ctx.fields.discard = true)),
  flag('no-discard', (ctx) => (ctx.fields.discard = false)),
  // COLO replication: xl parses these, xenemu has no COLO.
  flag('colo', (ctx, text, at) => notEmulated(ctx, text, at, 'COLO')),
  flag('no-colo', (ctx, text, at) => notEmulated(ctx, text, at, 'COLO')),
  ...['colo-host', 'colo-port', 'colo-export', 'active-disk', 'hidden-disk'].map((k) =>
    keyed(k, (_v, ctx, at) => notEmulated(ctx, `${k}=${_v}`, at - k.length - 1, 'COLO')),
  ),
  flag('trusted', (ctx) => (ctx.fields.trusted = true)),
  flag('untrusted', (ctx) => (ctx.fields.trusted = false)),
  flag('grant_usage=1', (ctx, text, at) => notEmulated(ctx, text, at, 'virtio grant usage')),
  flag('grant_usage=0', (ctx, text, at) => notEmulated(ctx, text, at, 'virtio grant usage')),

  // The target magic parameter eats the rest of the string.
  { re: /target=[^\n]*/y, action: (text, ctx, at) => saveString(ctx, 'target', fromEquals(strip(text, ',')), at + 7) },

  // Unknown parameters (flex's pattern takes one value character, which is enough).
  {
    re: /[a-z][-a-z0-9]*=[^,],?/y,
    action: (text, _ctx, at) => {
      const key = text.slice(0, text.indexOf('='));
      throw new DiskSpecError(
        `unknown parameter "${key}": disk specs take target, format, vdev, access, devtype, backend, backendtype, script, specification and the flags cdrom, discard, no-discard, direct-io-safe, trusted, untrusted`,
        at,
      );
    },
  },

  // Deprecated prefixes, from xend and xl 4.1.
  prefix('raw|qcow2?|vhd', (name, ctx, at) => {
    ctx.warnings.push({ message: `the "${name}:" prefix is deprecated: write format=${name}`, offset: at });
    setFormat(ctx, name, at);
  }),
  prefix('iscsi|e?nbd|drbd', (name, ctx, at) => {
    ctx.warnings.push({ message: `the "${name}:" prefix is deprecated: write script=block-${name}`, offset: at });
    saveString(ctx, 'script', `block-${name}`, at);
  }),
  prefix('tapdisk|tap2?|aio|ioemu|file|phy', (name, ctx, at) => {
    ctx.warnings.push({ message: `the "${name}:" prefix is deprecated and ignored`, offset: at });
  }),
  {
    re: /[a-z][a-z0-9]*:/y,
    trail: /(?:[^a-z0-9][^\n]*)?/y,
    action: (text, _ctx, at) => {
      throw new DiskSpecError(`unknown deprecated disk prefix "${text}"`, at);
    },
  },

  // Positional parameters.
  {
    re: /[^=,]*,|[^=,]+,?/y,
    action: (text, ctx, at) => {
      const value = strip(text, ',');
      const f = ctx.fields;
      if (f.target === undefined) {
        saveString(ctx, 'target', value, at);
      } else if (!ctx.hadDeprecatedPrefix && f.format === undefined) {
        // `,hdc:cdrom,r`: an empty target then vdev:devtype is xend's empty cdrom.
        if (f.target === '' && vdevAndDevtype(ctx, value, at)) f.format = 'empty';
        else setFormat(ctx, value, at);
      } else if (f.vdev === undefined) {
        if (!vdevAndDevtype(ctx, value, at)) saveString(ctx, 'vdev', value, at);
      } else if (!ctx.accessSet) {
        ctx.accessSet = true;
        setAccess(ctx, value, at);
      } else {
        throw new DiskSpecError(`too many positional parameters near "${value}": the order is target, format, vdev, access`, at);
      }
    },
  },
];

function matchAt(re: RegExp, text: string, at: number): string | undefined {
  re.lastIndex = at;
  const m = re.exec(text);
  return m ? m[0] : undefined;
}

/** Parse one DISKSPEC string. Throws DiskSpecError where xl reports an error. */
export function parseDiskSpec(spec: string): DiskSpecParse {
  const ctx: ScanContext = { fields: {}, warnings: [], hadDeprecatedPrefix: false, accessSet: false };
  let pos = 0;
  while (pos < spec.length) {
    let best: { rule: Rule; consumed: number; length: number } | undefined;
    for (const rule of RULES) {
      const m = matchAt(rule.re, spec, pos);
      if (m === undefined) continue;
      let length = m.length;
      if (rule.trail) {
        const t = matchAt(rule.trail, spec, pos + m.length);
        if (t === undefined) continue;
        length += t.length;
      }
      if (length > 0 && (!best || length > best.length)) best = { rule, consumed: m.length, length };
    }
    if (!best || best.consumed === 0) {
      throw new DiskSpecError(`bad disk syntax near "${spec.slice(pos).split('\n')[0]}"`, pos);
    }
    best.rule.action(spec.slice(pos, pos + best.consumed), ctx, pos);
    pos += best.consumed;
  }

  const f = ctx.fields;
  // libxlu_disk.c, after the scan.
  if (f.devtype === 'cdrom') {
    f.access = 'ro';
    if (f.target === undefined || f.target === '') f.format = 'empty';
  }
  if (f.vdev === undefined) throw new DiskSpecError('no vdev specified: every disk needs one, e.g. vdev=xvda', spec.length);
  if (f.target === undefined && f.devtype !== 'cdrom') {
    throw new DiskSpecError('no target specified (and device not removable): give the image path, e.g. target=disk.img', spec.length);
  }
  return { fields: f, warnings: ctx.warnings };
}

/**
 * The canonical spec string of structured fields: key=value items with `target=`
 * last, so a target may hold commas. Fields equal to their defaults are left out.
 */
export function formatDiskSpec(d: {
  target?: string | undefined;
  format: string;
  vdev: string;
  access: 'ro' | 'rw';
  devtype: 'disk' | 'cdrom';
  backend?: string | undefined;
  backendtype?: string | undefined;
  script?: string | undefined;
  'direct-io-safe': boolean;
  discard: boolean;
  trusted: boolean;
  specification: string;
}): string {
  const items: string[] = [];
  // An empty cdrom reads back as format empty without saying so.
  const implied = d.format === 'raw' || (d.devtype === 'cdrom' && (d.target === undefined || d.target === '') && d.format === 'empty');
  if (!implied) items.push(`format=${d.format}`);
  items.push(`vdev=${d.vdev}`);
  if (d.devtype === 'cdrom') items.push('devtype=cdrom');
  else items.push(`access=${d.access}`);
  if (d.backend !== undefined && d.backend !== '0') items.push(`backend=${d.backend}`);
  if (d.backendtype !== undefined) items.push(`backendtype=${d.backendtype}`);
  if (d.script !== undefined) items.push(`script=${d.script}`);
  if (d.specification !== 'xen') items.push(`specification=${d.specification}`);
  if (d['direct-io-safe']) items.push('direct-io-safe');
  if (!d.discard) items.push('no-discard');
  if (!d.trusted) items.push('untrusted');
  if (d.target !== undefined && d.target !== '') items.push(`target=${d.target}`);
  return items.join(', ');
}
