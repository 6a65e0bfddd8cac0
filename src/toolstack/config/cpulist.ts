/**
 * CPULIST of xl.cfg(5) `cpus=` / `cpus_soft=`, as parse_cpurange() in xl_parse.c
 * reads it: comma-separated items, each `all`, `N` or `N-M`, optionally prefixed by
 * `^` to remove CPUs again ("0-3,5,^1" is 0,2,3,5). The NUMA forms `node:N`,
 * `nodes:N-M` and `nodes:all` stand for every CPU of those nodes: the emulated host
 * is one node (`info` says nr_nodes 1), so node 0 is all of its CPUs and any other
 * node has none, as libxl_node_to_cpumap() answers for a node the host lacks.
 */

/** CPU numbers above this are refused rather than looped over. */
export const MAX_CPU_NUMBER = 65535;

interface CpuItem {
  remove: boolean;
  /** node:/nodes:: from and to are NUMA node numbers. */
  nodes: boolean;
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
    const node = /^nodes?:/.exec(s);
    if (node) s = s.slice(node[0].length);
    const nodes = node !== null;
    if (s === 'all') {
      if (remove) return `"${raw}": "^" cannot be combined with "all"`;
      items.push({ remove, nodes, all: true, from: 0, to: 0 });
      continue;
    }
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(s);
    if (!m) return `"${raw}" is not a CPU range: write N, N-M, all, node:N, or ^N to exclude, e.g. "0-3,^2"`;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return `"${raw}": the range ends before it starts`;
    if (to > MAX_CPU_NUMBER) return `"${raw}": ${nodes ? 'node' : 'CPU'} numbers above ${MAX_CPU_NUMBER} are not supported`;
    items.push({ remove, nodes, all: false, from, to });
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
    // The host's one node (0) holds every CPU; a list of nodes is all of them or none.
    const wholeHost = item.all || (item.nodes && item.from === 0);
    if (item.nodes && !wholeHost) continue;
    const from = wholeHost ? 0 : item.from;
    const to = wholeHost ? hostCpus - 1 : item.to;
    for (let c = from; c <= to; c++) {
      if (item.remove) set.delete(c);
      else set.add(c);
    }
  }
  return [...set].sort((a, b) => a - b);
}
