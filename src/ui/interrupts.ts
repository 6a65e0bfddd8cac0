import type { IntrRow } from '../kernel/intr/stats.js';
import type { DomainIntrStats, EvtchnPortRow, HostIntrRow } from '../protocol/evtchn-rpc.js';

/**
 * FreeBSD vmstat's rate: events per second over the uptime in ms, rounded
 * (`(count * 1000 + period_ms / 2) / period_ms`, integer arithmetic).
 */
export function vmstatRate(count: number, uptimeNs: number): number {
  const periodMs = Math.floor(uptimeNs / 1e6);
  if (periodMs <= 0) return count;
  return Math.floor((count * 1000 + Math.floor(periodMs / 2)) / periodMs);
}

const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);

/** The rows vmstat -i prints: non-zero counts, or all of them with -a. */
function shown(rows: readonly IntrRow[], all: boolean): IntrRow[] {
  return rows.filter((r) => r.intrname !== '' && (r.total !== 0 || all));
}

/** istrnamlen: the longest interrupt name, at least "interrupt" (over every name, printed or not). */
function nameWidth(rows: readonly IntrRow[]): number {
  return rows.reduce((w, r) => Math.max(w, r.intrname.length), 'interrupt'.length);
}

const us = (ns: number) => (ns / 1000).toFixed(ns >= 1e7 ? 0 : 1);

/**
 * `vmstat -i` for one domain, column for column: `%-*s %20s %10s` with the name column
 * as wide as the longest interrupt name, rows with a zero count left out unless `all`,
 * then the Total row. With `times`, three columns follow: the measured time in
 * filters and in interrupt threads, and the modelled guest time, in µs.
 */
export function formatVmstatI(s: DomainIntrStats, opts: { all?: boolean; times?: boolean } = {}): string {
  const w = nameWidth(s.rows);
  const times = opts.times === true;
  const tail = times ? ` ${lpad('filter-us', 12)} ${lpad('ithread-us', 12)} ${lpad('modelled-us', 12)}` : '';
  const out = [`${pad('interrupt', w)} ${lpad('total', 20)} ${lpad('rate', 10)}${tail}`];
  let total = 0;
  for (const r of s.rows) total += r.total;
  for (const r of shown(s.rows, opts.all === true)) {
    const t = times ? ` ${lpad(us(r.filterNs), 12)} ${lpad(us(r.ithreadNs), 12)} ${lpad(us(r.modelledNs), 12)}` : '';
    out.push(`${pad(r.intrname, w)} ${lpad(r.total, 20)} ${lpad(vmstatRate(r.total, s.uptimeNs), 10)}${t}`);
  }
  out.push(`${pad('Total', w)} ${lpad(total, 20)} ${lpad(vmstatRate(total, s.uptimeNs), 10)}`);
  return out.join('\n');
}

/**
 * The per-vCPU breakdown (`-P`): one column per vCPU that is online or counted
 * anything, then vmstat's total and rate.
 */
export function formatVmstatPerCpu(s: DomainIntrStats, opts: { all?: boolean } = {}): string {
  const w = nameWidth(s.rows);
  const rows = shown(s.rows, opts.all === true);
  const cpus: number[] = [];
  for (let v = 0; v < s.vcpus; v++) if (s.online.includes(v) || s.rows.some((r) => (r.perCpu[v] ?? 0) !== 0)) cpus.push(v);
  const widths = cpus.map((v) => rows.reduce((m, r) => Math.max(m, String(r.perCpu[v] ?? 0).length), `cpu${v}`.length));
  const head = cpus.map((v, i) => ` ${lpad(`cpu${v}`, widths[i]!)}`).join('');
  const out = [`${pad('interrupt', w)}${head} ${lpad('total', 20)} ${lpad('rate', 10)}`];
  const sums = cpus.map(() => 0);
  let total = 0;
  for (const r of s.rows) {
    total += r.total;
    cpus.forEach((v, i) => (sums[i]! += r.perCpu[v] ?? 0));
  }
  for (const r of rows) {
    const cols = cpus.map((v, i) => ` ${lpad(r.perCpu[v] ?? 0, widths[i]!)}`).join('');
    out.push(`${pad(r.intrname, w)}${cols} ${lpad(r.total, 20)} ${lpad(vmstatRate(r.total, s.uptimeNs), 10)}`);
  }
  const sumCols = cpus.map((_, i) => ` ${lpad(sums[i]!, widths[i]!)}`).join('');
  out.push(`${pad('Total', w)}${sumCols} ${lpad(total, 20)} ${lpad(vmstatRate(total, s.uptimeNs), 10)}`);
  return out.join('\n');
}

/** The host's view: one line per domain. */
export function formatHostInterrupts(rows: readonly HostIntrRow[]): string {
  const header = ['Domain', 'Name', 'Type', 'Callback', 'vCPUs', 'Ports', 'Upcalls', 'Interrupts', 'Rate', 'Filter-ms', 'Ithread-ms', 'Modelled-ms'];
  const body = rows.map((r) => {
    const events = r.upcalls + r.interrupts;
    return [
      String(r.domid),
      r.name,
      r.type,
      r.callback,
      `${r.online}/${r.vcpus}`,
      String(r.portsInUse),
      r.booted ? String(r.upcalls) : '-',
      r.booted ? String(r.interrupts) : '-',
      r.booted ? String(vmstatRate(events, r.uptimeNs)) : '-',
      r.booted ? (r.filterNs / 1e6).toFixed(1) : '-',
      r.booted ? (r.ithreadNs / 1e6).toFixed(1) : '-',
      r.booted ? (r.modelledNs / 1e6).toFixed(1) : '-',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const left = new Set([1, 2, 3]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (left.has(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...body.map(line)].join('\n');
}

/** lsevtchn's description of a port (tools/xcutils/lsevtchn.c, Xen 4.17). */
export function lsevtchnDescription(r: EvtchnPortRow): string {
  switch (r.status) {
    case 'unbound':
      return `Interdomain (Waiting connection) - Remote Domain ${r.remoteDomid}`;
    case 'interdomain':
      return `Interdomain (Connected) - Remote Domain ${r.remoteDomid}, Port ${r.remotePort}`;
    case 'pirq':
      return `Physical IRQ ${r.pirq}`;
    case 'virq':
      return `Virtual IRQ ${r.virq}`;
    case 'ipi':
      return 'IPI';
    default:
      return 'Unknown';
  }
}

/**
 * lsevtchn's output, byte for byte: `printf("%4d: VCPU %u: ", port, vcpu)` and the
 * description, one line per port that is not closed. With `long`, the mask and pending
 * bits and the guest's interrupt source follow.
 */
export function formatLsevtchn(rows: readonly EvtchnPortRow[], opts: { long?: boolean } = {}): string {
  return rows
    .map((r) => {
      const base = `${lpad(r.port, 4)}: VCPU ${r.vcpu}: ${lsevtchnDescription(r)}`;
      if (!opts.long) return base;
      const bits = [r.masked ? 'masked' : 'unmasked', r.pending ? 'pending' : 'idle'].join(',');
      const src = r.source === null ? '-' : `${r.source.intrname} (${r.source.handler}, ${r.source.total})`;
      return `${base}  [${bits}]  ${src}${r.device ? '  [evtchn device]' : ''}`;
    })
    .join('\n');
}

/** `xenemu evtchn status`: the EVTCHNOP_status answer with the bits and the guest's source. */
export function formatEvtchnStatus(domid: number, name: string, r: EvtchnPortRow): string {
  const head = `port ${r.port} of domain ${domid} (${name}): ${r.status === 'closed' ? 'Closed' : lsevtchnDescription(r)}`;
  const lines = [head, `  vCPU ${r.vcpu}, ${r.masked ? 'masked' : 'unmasked'}, ${r.pending ? 'pending' : 'not pending'}`];
  if (r.source !== null) lines.push(`  source ${r.source.intrname}, ${r.source.handler}, on vCPU ${r.source.cpu}, ${r.source.total} interrupts`);
  if (r.device) lines.push(`  bound through the event channel device: ${r.notifications ?? 0} notifications received`);
  return lines.join('\n');
}
