/**
 * Where a vCPU runs, as Xen's scheduler places it (xen/common/sched/core.c): which
 * pCPU `xl vcpu-list` shows. xenemu runs guests on the Node event loop, so this is
 * bookkeeping that follows Xen's rules, not a real run queue.
 */

/** cpumask_cycle(n, mask): the first CPU of `allowed` after `n`, wrapping round. */
function cycle(n: number, allowed: readonly number[]): number {
  return allowed.find((c) => c > n) ?? allowed[0]!;
}

/** Every pCPU of a host with `pcpus` CPUs, or the affinity map's CPUs on it (null: all). */
function cpusOf(affinity: readonly number[] | null, pcpus: number): number[] {
  const all = Array.from({ length: pcpus }, (_, i) => i);
  return affinity === null ? all : all.filter((c) => affinity.includes(c));
}

/**
 * sched_select_initial_cpu(): vCPU 0 on the first pCPU, each next vCPU on the pCPU
 * after the previous one's (xenemu has one NUMA node and one cpupool: all pCPUs).
 */
export function initialPcpus(vcpus: number, pcpus: number): number[] {
  const all = cpusOf(null, pcpus);
  const out: number[] = [];
  for (let i = 0; i < vcpus; i++) out.push(i === 0 ? all[0]! : cycle(out[i - 1]!, all));
  return out;
}

/**
 * The pCPU a vCPU on `current` runs on after its affinity changed (vcpu_set_affinity
 * asks for a migration): it stays where it is if that is allowed and preferred,
 * otherwise it moves to the next pCPU of soft ∩ hard, or of hard when they do not meet.
 * An empty hard map leaves it where it is (the toolstack refuses those).
 */
export function placeAfterAffinity(current: number, hard: readonly number[] | null, soft: readonly number[] | null, pcpus: number): number {
  const allowed = cpusOf(hard, pcpus);
  if (allowed.length === 0) return current;
  const preferred = cpusOf(soft, pcpus).filter((c) => allowed.includes(c));
  const target = preferred.length > 0 ? preferred : allowed;
  return target.includes(current) ? current : cycle(current, target);
}
