/**
 * The vifspec of xl-network-configuration(5), as parse_nic_config() in
 * tools/xl/xl_parse.c reads it: the spec is cut at commas (empty items are skipped,
 * leading spaces dropped) and each item is `key=value` or one of the flags
 * trusted/untrusted. The rate grammar is xlu_vif_parse_rate() of libxlu_vif.c.
 */

import { createHash } from 'node:crypto';
import { suggestion } from './errors.js';
import { XenemuError } from '../../common/errors.js';

export interface VifSpecFields {
  mac?: string;
  bridge?: string;
  gatewaydev?: string;
  type?: string;
  model?: string;
  vifname?: string;
  script?: string;
  ip?: string;
  capture?: string;
  backend?: string;
  rate?: string;
  devid?: number;
  mtu?: number;
  trusted?: boolean;
}

/**
 * An item parse_nic_config() refuses with a message and then goes on without (the
 * vif is still made): a bad mac or type, an item it does not know. `xl` is its
 * message; network-attach fails on it, a config's vif= warns and goes on, as xl does.
 */
export interface VifItemRefusal {
  xl: string;
  message: string;
  offset: number;
}

export interface VifSpecParse {
  fields: VifSpecFields;
  warnings: { message: string; offset: number }[];
  refused: VifItemRefusal[];
}

export class VifSpecError extends XenemuError {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super('EINVAL', message);
  }
}

export const VIF_KEYS = ['mac', 'bridge', 'gatewaydev', 'type', 'model', 'vifname', 'script', 'ip', 'backend', 'rate', 'devid', 'mtu', 'capture'] as const;
/** capture= is xenemu's: the vif's pcap file. */
const STRING_KEYS = new Set(['bridge', 'gatewaydev', 'model', 'vifname', 'script', 'ip', 'backend', 'capture']);

/** xl parses these (COLO network replication) and xenemu does not emulate them. */
const COLO_KEY = /^(forwarddev|colo_[a-z0-9_]+)$/;

const MAC_RE = /^([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})$/;

/**
 * `00:16:3E:74:3d:76` → `00:16:3e:74:3d:76`; undefined when it is not six hex bytes.
 * Blanks around it go, as xl's strtoul() loop skips them (`mac=00:16:3e:0:0:1 , bridge=br0`).
 */
export function normaliseMac(mac: string): string | undefined {
  const m = MAC_RE.exec(mac.trim());
  if (!m) return undefined;
  return m
    .slice(1, 7)
    .map((b) => b.toLowerCase().padStart(2, '0'))
    .join(':');
}

const hex2 = (b: number): string => b.toString(16).padStart(2, '0');

/**
 * parse_nic_config()'s mac=: six strtoul(p, &end, 16) in a row, each byte at most 255,
 * whatever one character separates them (`00.16.3e.74.3d.76` and ` 0x0:...` pass). On
 * the first byte that does not parse, xl says so and keeps the bytes it had (the rest
 * are 0); a MAC of all zeros is libxl's "none", for which it makes one up.
 */
export function parseXlMac(value: string): { mac?: string; ok: boolean } {
  const bytes = [0, 0, 0, 0, 0, 0];
  let p = 0;
  let ok = true;
  for (let i = 0; i < 6; i++) {
    const m = /^[ \t\n\v\f\r]*([+-]?)(?:0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]+)/.exec(value.slice(p));
    // Up to two significant digits fit a byte; a minus makes strtoul's value wrap (unless -0).
    const digits = m === null ? '' : m[2]!.replace(/^0+(?=.)/, '');
    const v = m === null || digits.length > 2 || (m[1] === '-' && digits !== '0') ? 256 : parseInt(digits, 16);
    if (m === null || v > 255) {
      ok = false;
      break;
    }
    bytes[i] = v;
    p += m[0].length + 1;
  }
  return { ...(bytes.some((b) => b !== 0) ? { mac: bytes.map(hex2).join(':') } : {}), ok };
}

/**
 * A MAC in Xen's OUI 00:16:3e, as libxl__device_nic_setdefault() makes one, but
 * derived from a seed (the domain's uuid, or its name) and the devid instead of a
 * random uuid, so a domain gets the same MAC each time it is created (stable DHCP
 * leases, stable tests). The fourth byte keeps libxl's `& 0x7f`.
 */
export function generateMac(seed: string, devid: number): string {
  const h = createHash('sha256').update(`xenemu-vif\0${seed}\0${devid}`).digest();
  const bytes = [0x00, 0x16, 0x3e, h[0]! & 0x7f, h[1]!, h[2]!];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export interface VifRate {
  bytesPerInterval: number;
  intervalUsecs: number;
}

/** strtoull(s, &p, 0) over the leading digits: a leading 0 reads as octal. */
function leadingNumber(s: string): { value: bigint; rest: string } {
  const digits = /^[0-9]+/.exec(s)![0];
  if (digits.length > 1 && digits.startsWith('0')) {
    const oct = /^0[0-7]*/.exec(digits)![0];
    return { value: oct.length > 1 ? BigInt(`0o${oct.slice(1)}`) : 0n, rest: s.slice(oct.length) };
  }
  return { value: BigInt(digits), rest: s.slice(digits.length) };
}

const UINT32_MAX = 0xffffffffn;
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * `10Mb/s`, `250KB/s`, `1MB/s@20ms`: RATE is bytes (B) or bits (b) per second with an
 * optional decimal G/M/K multiplier, INTERVAL is in us, ms or s (default 50 ms).
 * Throws an Error with xl's reason where xl refuses the rate.
 */
export function parseVifRate(rate: string): VifRate {
  const at = rate.indexOf('@');
  const bytesPart = at < 0 ? rate : rate.slice(0, at);
  const intervalPart = at < 0 ? undefined : rate.slice(at + 1);
  if (bytesPart === '') throw new Error(`no rate specified in "${rate}": write e.g. 10Mb/s or 1MB/s@20ms`);
  if (!/^[0-9]+[GMK]?[Bb]\/s$/.test(bytesPart)) {
    throw new Error(`invalid rate "${bytesPart}": write a number, an optional G, M or K, then B/s (bytes) or b/s (bits), e.g. 10Mb/s`);
  }
  const { value: n, rest } = leadingNumber(bytesPart);
  if (n === 0n || n > UINT32_MAX) throw new Error(`rate overflow in "${bytesPart}": the number must be between 1 and 4294967295`);
  let bytesPerSec = n;
  if (rest[0] === 'G') bytesPerSec *= 1_000_000_000n;
  else if (rest[0] === 'M') bytesPerSec *= 1_000_000n;
  else if (rest[0] === 'K') bytesPerSec *= 1000n;
  if (rest[0] === 'b' || rest[1] === 'b') bytesPerSec /= 8n;

  let intervalUsecs = 50_000n;
  if (intervalPart !== undefined) {
    if (!/^[0-9]+[mu]?s?$/.test(intervalPart)) {
      throw new Error(`invalid replenishment interval "${intervalPart}": write a number with us, ms or s, e.g. 20ms`);
    }
    const { value: i, rest: unit } = leadingNumber(intervalPart);
    if (i === 0n || i > UINT32_MAX) throw new Error(`replenishment interval overflow in "${intervalPart}": it must be between 1 us and 4294967295 us`);
    let usecs = i;
    if (unit[0] === 's' || unit === '') usecs *= 1_000_000n;
    else if (unit[0] === 'm') usecs *= 1000n;
    if (usecs > UINT32_MAX) throw new Error(`replenishment interval overflow in "${intervalPart}": at most 4294967295 us`);
    intervalUsecs = usecs;
  }
  if (bytesPerSec > UINT64_MAX / intervalUsecs) throw new Error(`rate overflow in "${rate}": the rate times the interval is too large`);
  return { bytesPerInterval: Number((bytesPerSec * intervalUsecs) / 1_000_000n), intervalUsecs: Number(intervalUsecs) };
}

function parseUlong(key: string, value: string, at: number): number {
  if (!/^[0-9]+$/.test(value) || Number(value) > 0xffffffff) {
    throw new VifSpecError(`${key}=${value}: ${key} must be a decimal number`, at);
  }
  return Number(value);
}

/**
 * Parse one vifspec. Items xl refuses and goes on without are in `refused`; throws
 * VifSpecError where xl stops (a bad rate, devid or mtu) or would misread the item.
 */
export function parseVifSpec(spec: string): VifSpecParse {
  const fields: VifSpecFields = {};
  const warnings: { message: string; offset: number }[] = [];
  const refused: VifItemRefusal[] = [];
  let pos = 0;
  for (const raw of spec.split(',')) {
    const start = pos;
    pos += raw.length + 1;
    let skip = 0;
    while (raw[skip] === ' ') skip++;
    const token = raw.slice(skip);
    const at = start + skip;
    if (token === '') continue;
    if (token === 'trusted' || token === 'untrusted') {
      fields.trusted = token === 'trusted';
      continue;
    }
    const eq = token.indexOf('=');
    const key = eq < 0 ? token : token.slice(0, eq);
    const value = eq < 0 ? '' : token.slice(eq + 1);
    const vat = at + eq + 1;
    const unrecognized = (): void => {
      const hint = suggestion(key, [...VIF_KEYS, 'trusted', 'untrusted']);
      refused.push({
        xl: `unrecognized argument \`${token}'`,
        message: `unrecognized argument "${token}"${hint}, ignored as xl ignores it: vif items are key=value (${VIF_KEYS.join(', ')}) or the flags trusted, untrusted`,
        offset: at,
      });
    };
    if (eq < 0) {
      unrecognized();
      continue;
    }
    if (key === 'mac') {
      const { mac, ok } = parseXlMac(value);
      if (mac !== undefined) fields.mac = mac;
      if (!ok) {
        const kept = mac !== undefined ? `the bytes before the bad one make the mac, ${mac}, as in xl` : 'the vif gets a generated mac, as in xl';
        refused.push({ xl: "Invalid parameter `mac'.", message: `invalid mac "${value}" (six hex bytes, e.g. 00:16:3e:74:3d:76): ${kept}`, offset: vat });
      }
    } else if (key === 'type') {
      if (value === 'vif' || value === 'ioemu') fields.type = value;
      else {
        refused.push({
          xl: "Invalid parameter `type'.",
          message: `invalid type "${value}" (vif, PV only, or ioemu, emulated and PV): ignored as xl ignores it, the guest type's default applies`,
          offset: vat,
        });
      }
    } else if (key === 'netdev') {
      warnings.push({ message: 'netdev is deprecated: write gatewaydev', offset: at });
      fields.gatewaydev = value;
    } else if (key === 'rate') {
      try {
        parseVifRate(value);
      } catch (e) {
        throw new VifSpecError((e as Error).message, vat);
      }
      fields.rate = value;
    } else if (key === 'devid' || key === 'mtu') {
      fields[key] = parseUlong(key, value, vat);
    } else if (STRING_KEYS.has(key)) {
      if (value === '') throw new VifSpecError(`${key}= has no value`, vat);
      (fields as Record<string, string>)[key] = value;
    } else if (key === 'accel') {
      warnings.push({ message: 'the accel parameter for vifs is not supported (xl ignores it too)', offset: at });
    } else if (COLO_KEY.test(key)) {
      warnings.push({ message: `"${key}" (COLO) is not emulated and was ignored`, offset: at });
    } else {
      unrecognized();
    }
  }
  return { fields, warnings, refused };
}

/** The vifspec of structured fields, leaving out what equals its default. */
export function formatVifSpec(
  v: {
    mac: string;
    bridge: string;
    gatewaydev?: string | undefined;
    type: string;
    model?: string | undefined;
    vifname?: string | undefined;
    script: string;
    ip?: string | undefined;
    capture?: string | undefined;
    backend: string;
    rate?: string | undefined;
    devid: number;
    mtu: number;
    trusted: boolean;
  },
  defaults: { mac: string; devid: number; type: string; model?: string | undefined },
): string {
  const items: string[] = [];
  if (v.mac !== defaults.mac) items.push(`mac=${v.mac}`);
  if (v.bridge !== 'xenbr0') items.push(`bridge=${v.bridge}`);
  if (v.gatewaydev !== undefined) items.push(`gatewaydev=${v.gatewaydev}`);
  if (v.type !== defaults.type) items.push(`type=${v.type}`);
  if (v.model !== undefined && v.model !== defaults.model) items.push(`model=${v.model}`);
  if (v.vifname !== undefined) items.push(`vifname=${v.vifname}`);
  if (v.script !== 'vif-bridge') items.push(`script=${v.script}`);
  if (v.ip !== undefined) items.push(`ip=${v.ip}`);
  if (v.capture !== undefined) items.push(`capture=${v.capture}`);
  if (v.backend !== '0') items.push(`backend=${v.backend}`);
  if (v.rate !== undefined) items.push(`rate=${v.rate}`);
  if (v.devid !== defaults.devid) items.push(`devid=${v.devid}`);
  if (v.mtu !== 1500) items.push(`mtu=${v.mtu}`);
  if (!v.trusted) items.push('untrusted');
  return items.join(',');
}
