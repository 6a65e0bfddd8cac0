/**
 * libxl_domain_config_gen_json(), the generator gentypes.py writes for every IDL type
 * (tools/libs/light/gentypes.py, libxl_C_type_gen_json), walked over the schema in
 * idl.ts instead of generated C. The rules that decide which keys appear:
 *
 * - structs and keyed unions are always printed, even when every field is default
 *   (hence "sched_params": {} and "arch_arm": {});
 * - arrays only when non-empty;
 * - a field with an init_val only when it differs from it (memkb fields against
 *   LIBXL_MEMKB_DEFAULT, devid against -1, on_* against destroy, …);
 * - a type with a default checker only when not default (defbool, uuid, mac, bitmap,
 *   string, string_list, key_value_list, ms_vm_genid);
 * - anything else (numbers, bools, enums) only when non-zero — so an enum whose
 *   value 0 is meaningful, like disk backend "unknown", never shows when zero.
 *
 * In the TypeScript objects an absent property (undefined) stands for the value
 * libxl_*_init() leaves there; keys are the C field names. Keyed unions are two
 * properties: the key variable (b_info.type) and the union (b_info.u), whose member
 * matching the key is printed as "type.pv": {…}.
 */

import { LIBXL_ENUMS, LIBXL_STRUCTS, type CType, type IdlType, type LibxlDeviceDisk, type LibxlDeviceNic, type LibxlDomainConfig } from './idl.js';
import { formatUuid } from './uuid.js';
import type { YajlGen } from './yajl.js';
import { XenemuError } from '../../common/errors.js';

/** A configuration value that libxl could not hold or print. */
export class LibxlConfigError extends XenemuError {
  constructor(readonly path: string, message: string) {
    super('EINVAL', `${path}: ${message}`);
  }
}

type Obj = Readonly<Record<string, unknown>>;

/** Generates libxl_domain_config's JSON into g, as libxl_domain_config_gen_json does. */
export function libxlDomainConfigGenJson(g: YajlGen, config: LibxlDomainConfig): void {
  genStruct(g, 'libxl_domain_config', config as Obj, 'config');
}

/** libxl_device_disk_gen_json (what libxl_device_disk_to_json prints). */
export function libxlDeviceDiskGenJson(g: YajlGen, disk: LibxlDeviceDisk): void {
  genStruct(g, 'libxl_device_disk', disk as Obj, 'disk');
}

/** libxl_device_nic_gen_json (what libxl_device_nic_to_json prints: `xl -N network-attach`). */
export function libxlDeviceNicGenJson(g: YajlGen, nic: LibxlDeviceNic): void {
  genStruct(g, 'libxl_device_nic', nic as Obj, 'nic');
}

function genStruct(g: YajlGen, name: string, obj: Obj | undefined, path: string): void {
  const fields = LIBXL_STRUCTS[name];
  if (fields === undefined) throw new LibxlConfigError(path, `unknown struct ${name}`);
  const o: Obj = obj ?? {};
  g.mapOpen();
  for (const f of fields) {
    const here = `${path}.${f.name}`;
    const t = f.type;
    if (t.kind === 'keyedUnion') {
      const key = o[t.keyvar];
      const keyNum = key === undefined ? enumInitValue(t.keyEnum) : enumValue(t.keyEnum, key, `${path}.${t.keyvar}`);
      // gentypes switches on the key; a key with no union member prints nothing.
      const values = LIBXL_ENUMS[t.keyEnum]!.values;
      const member = t.members.find((m) => values[m.name.toLowerCase()] === keyNum);
      if (member === undefined) continue;
      g.string(`${t.keyvar}.${member.name}`);
      const u = o[f.name] as Obj | undefined;
      const value = u?.[member.name] as Obj | undefined;
      if (member.type === null) {
        g.mapOpen();
        g.mapClose();
      } else {
        genValue(g, member.type, value, `${here}.${member.name}`);
      }
      continue;
    }
    const value = o[f.name];
    if (!shouldPrint(t, value, f.init, here)) continue;
    g.string(f.name);
    genValue(g, t, value, here);
  }
  g.mapClose();
}

/** gentypes.py get_default_expr(): whether the field's key appears at all. */
function shouldPrint(t: IdlType, value: unknown, init: string | undefined, path: string): boolean {
  if (t.kind === 'struct') return true;
  if (value === undefined || value === null) return false;
  if (t.kind === 'array') return asArray(value, path).length > 0;
  if (init !== undefined) {
    if (t.kind === 'number') return cValue(t.ctype, value, path) !== BigInt(init);
    if (t.kind === 'enum') return enumValue(t.name, value, path) !== enumValue(t.name, init, path);
    throw new LibxlConfigError(path, `init_val on a ${t.kind}`);
  }
  switch (t.kind) {
    case 'defbool':
      asBool(value, path);
      return true;
    case 'string':
      asString(value, path);
      return true;
    case 'uuid':
      return uuidBytes(value, path).some((b) => b !== 0);
    case 'mac':
      return macBytes(value, path).some((b) => b !== 0);
    case 'bitmap':
      return bitmapBits(value, path).length > 0;
    case 'string_list':
    case 'key_value_list':
      return asArray(value, path).length > 0;
    case 'ms_vm_genid':
      return genidBytes(value, path).some((b) => b !== 0);
    case 'cpuid_policy_list':
      throw new LibxlConfigError(path, 'cpuid policies are not supported');
    case 'bool':
      return asBool(value, path);
    case 'number':
      return cValue(t.ctype, value, path) !== 0n;
    case 'enum':
      return enumValue(t.name, value, path) !== 0;
    default:
      throw new LibxlConfigError(path, `unexpected ${t.kind}`);
  }
}

function genValue(g: YajlGen, t: IdlType, value: unknown, path: string): void {
  switch (t.kind) {
    case 'struct':
      genStruct(g, t.name, value as Obj | undefined, path);
      return;
    case 'array': {
      g.arrayOpen();
      asArray(value, path).forEach((v, i) => genValue(g, t.elem, v, `${path}[${i}]`));
      g.arrayClose();
      return;
    }
    case 'number':
      // yajl_gen_integer takes a long long; libxl__uint64_gen_json prints PRIu64.
      g.integer(cValue(t.ctype, value, path));
      return;
    case 'bool':
      g.bool(asBool(value, path));
      return;
    case 'string':
      if (value === null || value === undefined) g.null();
      else g.string(cString(asString(value, path)));
      return;
    case 'defbool':
      g.string(asBool(value, path) ? 'True' : 'False');
      return;
    case 'enum': {
      enumValue(t.name, value, path);
      g.string(String(value));
      return;
    }
    case 'uuid':
      g.string(formatUuid(Buffer.from(uuidBytes(value, path)).toString('hex')));
      return;
    case 'mac':
      g.string(macBytes(value, path).map((b) => b.toString(16).padStart(2, '0')).join(':'));
      return;
    case 'bitmap':
      g.arrayOpen();
      for (const bit of bitmapBits(value, path)) g.integer(bit);
      g.arrayClose();
      return;
    case 'string_list':
      g.arrayOpen();
      for (const s of asArray(value, path)) g.string(cString(asString(s, path)));
      g.arrayClose();
      return;
    case 'key_value_list':
      g.mapOpen();
      for (const pair of asArray(value, path)) {
        const [k, v] = pair as readonly [string, string | null];
        g.string(cString(asString(k, path)));
        if (v === null) g.null();
        else g.string(cString(asString(v, path)));
      }
      g.mapClose();
      return;
    case 'ms_vm_genid':
      g.arrayOpen();
      for (const b of genidBytes(value, path)) g.integer(b);
      g.arrayClose();
      return;
    default:
      throw new LibxlConfigError(path, `cannot print a ${t.kind}`);
  }
}

/** The value converted to its C type, as the struct field would hold it. */
function cValue(ctype: CType, value: unknown, path: string): bigint {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new LibxlConfigError(path, `not an integer: ${value}`);
  } else if (typeof value !== 'bigint') {
    throw new LibxlConfigError(path, 'not a number');
  }
  const v = BigInt(value);
  switch (ctype) {
    case 'int':
      return BigInt.asIntN(32, v);
    case 'uint8_t':
      return BigInt.asUintN(8, v);
    case 'uint16_t':
      return BigInt.asUintN(16, v);
    case 'uint32_t':
      return BigInt.asUintN(32, v);
    case 'uint64_t':
      return BigInt.asUintN(64, v);
  }
}

function enumInitValue(name: string): number {
  const e = LIBXL_ENUMS[name]!;
  return e.init === undefined ? 0 : e.values[e.init]!;
}

function enumValue(name: string, value: unknown, path: string): number {
  const e = LIBXL_ENUMS[name];
  if (e === undefined) throw new LibxlConfigError(path, `unknown enum ${name}`);
  const v = typeof value === 'string' ? e.values[value] : undefined;
  if (v === undefined) throw new LibxlConfigError(path, `not a ${name}: ${String(value)}`);
  return v;
}

function asBool(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new LibxlConfigError(path, 'not a boolean');
  return value;
}

function asString(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new LibxlConfigError(path, 'not a string');
  return value;
}

/** libxl__yajl_gen_asciiz() uses strlen(): a C string ends at its first NUL. */
function cString(s: string): string {
  const nul = s.indexOf('\0');
  return nul < 0 ? s : s.slice(0, nul);
}

function asArray(value: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new LibxlConfigError(path, 'not an array');
  return value;
}

function uuidBytes(value: unknown, path: string): number[] {
  const hex = asString(value, path).replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new LibxlConfigError(path, `not a UUID: ${String(value)}`);
  return [...Buffer.from(hex, 'hex')];
}

function macBytes(value: unknown, path: string): number[] {
  const parts = asString(value, path).split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new LibxlConfigError(path, `not a MAC address: ${String(value)}`);
  }
  return parts.map((p) => parseInt(p, 16));
}

/** libxl_bitmap_gen_json lists the set bits in ascending order, each once. */
function bitmapBits(value: unknown, path: string): number[] {
  const bits = asArray(value, path).map((b) => {
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 0) throw new LibxlConfigError(path, `not a bit index: ${String(b)}`);
    return b;
  });
  return [...new Set(bits)].sort((a, b) => a - b);
}

function genidBytes(value: unknown, path: string): number[] {
  const bytes = asArray(value, path);
  if (bytes.length !== 16) throw new LibxlConfigError(path, 'a generation id has 16 bytes');
  return bytes.map((b) => Number(b) & 0xff);
}
