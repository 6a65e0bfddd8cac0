/**
 * xl's argument grammars that the emulated commands share: CPU lists (vcpu-pin, and
 * cpus=/cpus_soft= in a config) and memory sizes (mem-set, mem-max), reproduced from
 * tools/xl/xl_parse.c (parse_cpurange, update_cpumap_range, parse_range,
 * parse_mem_size_kb) in 4.17, C library behaviour included: strtoul()/strtoll() skip
 * leading white space and take a sign, and a bare memory size is in MiB.
 */

import { strtol, strtoul, ULONG_MAX } from '../../common/c-number.js';
import { XenemuError } from '../../common/errors.js';

/** An argument xl rejects. `message` is what xl writes to stderr, newline included. */
export class XlArgError extends XenemuError {
  constructor(
    override readonly code: 'invalid-cpu-range' | 'caret-all' | 'nodes-unsupported' | 'invalid-memory-size',
    readonly stderr: string,
  ) {
    super(code, stderr.trimEnd());
  }
}

/** strtoul (unsigned) or strtoll (signed) in base 10, as xl's parsers call them. */
function strtoBase10(s: string, signed: boolean): { value: bigint; end: number } {
  return (signed ? strtol : strtoul)(s, 10);
}

/** parse_range(): "N" or "N-M" with M ≥ N, nothing after; null where xl returns 1. */
export function parseRange(str: string): { a: bigint; b: bigint } | null {
  const first = strtoBase10(str, false);
  if (first.end === 0 || first.value === ULONG_MAX) return null;
  let b = first.value;
  let end = first.end;
  if (str[end] === '-') {
    const rest = str.slice(end + 1);
    const second = strtoBase10(rest, false);
    if (second.end === 0 || second.value === ULONG_MAX || second.value < first.value) return null;
    b = second.value;
    end += 1 + second.end;
  }
  if (end !== str.length) return null;
  return { a: first.value, b };
}

export interface CpuListOptions {
  /**
   * libxl_get_max_cpus(): the map holds this many CPUs rounded up to whole bytes
   * (libxl_cpu_bitmap_alloc), "all" sets every one of those bits, and a CPU number
   * past them is ignored (libxl_bitmap_set does nothing).
   */
  maxCpus: number;
  /**
   * The CPUs of each NUMA node (libxl_node_to_cpumap) for "node:N"/"nodes:N-M".
   * Without it such items are rejected with a clear error.
   */
  nodeCpus?: readonly (readonly number[])[];
}

/**
 * parse_cpurange(): comma-separated items, applied left to right to an empty map.
 * An item is `[^][node:|nodes:](all | N | N-M)`; "^" removes instead of adding, and
 * "^all" is refused. Empty items are skipped (strtok). Returns the set CPUs, sorted.
 */
export function parseCpuList(spec: string, options: CpuListOptions): number[] {
  const size = Math.ceil(Math.max(0, options.maxCpus) / 8) * 8;
  const map = new Uint8Array(size);
  for (const token of spec.split(',')) {
    if (token === '') continue;
    let str = token;
    let isNot = false;
    let isNodes = false;
    if (str.startsWith('^')) {
      isNot = true;
      str = str.slice(1);
    }
    if (str.startsWith('node:')) {
      isNodes = true;
      str = str.slice('node:'.length);
    } else if (str.startsWith('nodes:')) {
      isNodes = true;
      str = str.slice('nodes:'.length);
    }
    if (str === 'all') {
      // "^all" and "^nodes:all" are refused; "nodes:all" is plain "all".
      if (isNot) throw new XlArgError('caret-all', 'Can\'t combine "^" and "all".\n');
      map.fill(1);
      continue;
    }
    const range = parseRange(str);
    if (range === null) throw new XlArgError('invalid-cpu-range', `Invalid pcpu range: ${str}.\n`);
    if (isNodes && options.nodeCpus === undefined) {
      throw new XlArgError('nodes-unsupported', `NUMA node ranges are not supported here: ${token}.\n`);
    }
    // The C loop walks every id from a to b; only ids inside the map (or nodes that
    // exist) can change anything, so the walk is clipped to those.
    const limit = BigInt(isNodes ? options.nodeCpus!.length : size);
    const last = range.b < limit ? range.b : limit - 1n;
    for (let id = range.a; id <= last; id++) {
      const cpus = isNodes ? options.nodeCpus![Number(id)]! : [Number(id)];
      for (const cpu of cpus) if (cpu >= 0 && cpu < size) map[cpu] = isNot ? 0 : 1;
    }
  }
  const out: number[] = [];
  map.forEach((bit, i) => {
    if (bit) out.push(i);
  });
  return out;
}

/**
 * parse_mem_size_kb() exactly: strtoll, then at most one suffix letter (any case)
 * t, g, m, k or b; no suffix means MiB. The result is KiB as the int64_t C computes it,
 * shifts wrapping on overflow, and -1 for what xl rejects (which "-1k" also yields).
 */
export function parseMemSizeKbRaw(mem: string): bigint {
  const { value, end } = strtoBase10(mem, true);
  // No digits: endptr is the whole argument.
  const rest = end === 0 ? mem : mem.slice(end);
  if (Buffer.byteLength(rest, 'utf8') > 1) return -1n;
  const shl = (v: bigint, n: bigint): bigint => BigInt.asIntN(64, v << n);
  switch (rest.toLowerCase()) {
    case 't':
      return shl(value, 30n);
    case 'g':
      return shl(value, 20n);
    case '':
    case 'm':
      return shl(value, 10n);
    case 'k':
      return value;
    case 'b':
      return value >> 10n;
    default:
      return -1n;
  }
}

/**
 * What `xl mem-set`/`xl mem-max` accept: parseMemSizeKbRaw() with xl's -1 check. The
 * error's stderr is xl's "invalid memory size: ARG" line.
 */
export function parseMemSizeKb(mem: string): bigint {
  const kb = parseMemSizeKbRaw(mem);
  if (kb === -1n) throw new XlArgError('invalid-memory-size', `invalid memory size: ${mem}\n`);
  return kb;
}
