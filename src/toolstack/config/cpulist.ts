/**
 * CPULIST of xl.cfg(5) `cpus=` / `cpus_soft=`, as parse_cpurange() in xl_parse.c
 * reads it: comma-separated items, each `all`, `N` or `N-M`, optionally prefixed by
 * `^` to remove CPUs again ("0-3,5,^1" is 0,2,3,5). The NUMA forms `node:N` and
 * `nodes:N-M` are rejected: the emulated host has no NUMA topology to map them to.
 */

/** CPU numbers above this are refused rather than looped over. */
export const MAX_CPU_NUMBER = 65535;

interface CpuItem {
  remove: boolean;
  all: boolean;
  from: number;
  to: number;
}

function parseItems(spec: string): CpuItem[] | string {
  const items: CpuItem[] = [];
  for (const raw of spec.split(',')) {
    if (raw === '') continue;
    let s = raw;
    const remove = s.startsWith('^');
    if (remove) s = s.slice(1);
    if (/^nodes?:/.test(s)) {
      return `"${raw}": NUMA node lists (node:N, nodes:N-M) are not supported, xenemu's host has no NUMA topology; list CPU numbers instead, e.g. "0-3"`;
    }
    if (s === 'all') {
      if (remove) return `"${raw}": "^" cannot be combined with "all"`;
      items.push({ remove, all: true, from: 0, to: 0 });
      continue;
    }
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(s);
    if (!m) return `"${raw}" is not a CPU range: write N, N-M, all, or ^N to exclude, e.g. "0-3,^2"`;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return `"${raw}": the range ends before it starts`;
    if (to > MAX_CPU_NUMBER) return `"${raw}": CPU numbers above ${MAX_CPU_NUMBER} are not supported`;
    items.push({ remove, all: false, from, to });
  }
  if (items.length === 0) return 'the CPU list is empty: write e.g. "all" or "0-3"';
  return items;
}

/** Why a CPULIST string is not one, or undefined when it is fine. */
export function cpuListProblem(spec: string): string | undefined {
  const r = parseItems(spec);
  return typeof r === 'string' ? r : undefined;
}

/** The host CPUs a CPULIST string allows, given the host's CPU count. */
export function expandCpuList(spec: string, hostCpus: number): number[] {
  const r = parseItems(spec);
  if (typeof r === 'string') throw new RangeError(r);
  const set = new Set<number>();
  for (const item of r) {
    const from = item.all ? 0 : item.from;
    const to = item.all ? hostCpus - 1 : item.to;
    for (let c = from; c <= to; c++) {
      if (item.remove) set.delete(c);
      else set.add(c);
    }
  }
  return [...set].sort((a, b) => a - b);
}
