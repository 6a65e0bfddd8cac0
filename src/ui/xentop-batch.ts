/**
 * `xentop -b`'s text, byte for byte: what tools/xentop/xentop.c of Xen 4.17 prints in
 * batch mode for each iteration (top(): no summary, the column header before the
 * first domain, one row per domain sorted by the default sort field, then the -v, -n
 * and -x lines of that domain). Collectors that parse xentop keep working on it.
 *
 * The C format of every field is quoted where it is produced. The formatting is done
 * on numbers the daemon sends (src/protocol/stats.ts); nothing here reads a socket,
 * so `XentopBatch` can be fed frames from tests.
 */

import type { DomainStats, StatsFrame } from '../protocol/stats.js';
import type { StatsFeed } from './top/feed.js';
import { topFrameJson } from './json/views.js';

export interface XentopBatchOptions {
  /** -r: the column header before every domain, not just the first. */
  repeatHeader: boolean;
  /** -v: "VCPUs(sec):" lines (the frames must carry vcpuNs). */
  vcpus: boolean;
  /** -n: a "Net%d RX/TX" line per vif. */
  networks: boolean;
  /** -x: a "VBD" line per vbd. */
  vbds: boolean;
  /** -f: the full domain name instead of its first 10 characters. */
  fullName: boolean;
}

export const DEFAULT_BATCH_OPTIONS: Readonly<XentopBatchOptions> = Object.freeze({
  repeatHeader: false,
  vcpus: false,
  networks: false,
  vbds: false,
  fullName: false,
});

// ------------------------------------------------------------------ C printf pieces

/** `%*s`: right-aligned in `width`, never truncated. */
export function padLeft(s: string, width: number): string {
  return s.length >= width ? s : ' '.repeat(width - s.length) + s;
}

/**
 * `%.1f` as glibc prints it. Both C and JavaScript round the exact binary value, so
 * they agree except on an exact tie (x·10 ending in .5, which a double can only hold
 * when 4·x is an odd integer: 0.25, 0.75, 1.25, ...): toFixed rounds those up, glibc
 * to the even digit ("%.1f" of 0.25 is "0.2").
 */
export function cFixed1(x: number): string {
  if (Number.isNaN(x)) return x < 0 ? '-nan' : 'nan';
  if (!Number.isFinite(x)) return x < 0 ? '-inf' : 'inf';
  const q = x * 4;
  if (Number.isInteger(q) && q % 2 !== 0) {
    const neg = x < 0;
    const tenths = Math.abs(x) * 10; // exact: |x| is a multiple of 0.25
    let n = Math.floor(tenths);
    if (n % 2 !== 0) n++;
    return `${neg ? '-' : ''}${Math.floor(n / 10)}.${n % 10}`;
  }
  return x.toFixed(1);
}

/** `%llu` of a value C holds in an unsigned long long (integer division done by the caller). */
function llu(n: number): string {
  return String(Math.max(0, Math.floor(n)));
}

/**
 * INT_FIELD_WIDTH(n) = (unsigned int)(log10(n) + 1): the digits of n for n ≥ 1. Counted
 * on the decimal text rather than with Math.log10, whose result for a power of ten
 * need not be exact.
 */
export function intFieldWidth(n: number): number {
  return llu(n).length;
}

/**
 * strcasecmp in the C locale: bytes compared after ASCII tolower. Domain names are
 * ASCII (the toolstack refuses anything else), so UTF-16 units are bytes here.
 */
export function strcasecmp(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x >= 65 && x <= 90) x += 32;
    if (y >= 65 && y <= 90) y += 32;
    if (x !== y) return x - y;
  }
  return a.length - b.length;
}

// ------------------------------------------------------------------ per-domain totals

/** tot_net_bytes(domain, rx_flag). */
export function totNetBytes(d: DomainStats, rx: boolean): number {
  let total = 0;
  for (const n of d.nets) total += rx ? n.rbytes : n.tbytes;
  return total;
}

export type VbdField = 'oo' | 'rd' | 'wr' | 'rsect' | 'wsect';

/**
 * tot_vbd_reqs(domain, flag, &res): the sum over the vbds whose statistics could be
 * read, and whether there is anything to show: true with no vbds at all (the sum is
 * 0), false when every vbd is in error (xentop prints "-").
 */
export function totVbdReqs(d: DomainStats, field: VbdField): { total: number; show: boolean } {
  let total = 0;
  let show = d.vbds.length === 0;
  for (const v of d.vbds) {
    if (v.error) continue;
    show = true;
    total += v[field];
  }
  return { total, show };
}

// ------------------------------------------------------------------ the table

/** xentop's fields[] in order: header, default width. */
export const XENTOP_FIELDS = [
  { id: 'name', header: 'NAME', width: 10 },
  { id: 'state', header: 'STATE', width: 6 },
  { id: 'cpu', header: 'CPU(sec)', width: 10 },
  { id: 'cpuPct', header: 'CPU(%)', width: 6 },
  { id: 'mem', header: 'MEM(k)', width: 10 },
  { id: 'memPct', header: 'MEM(%)', width: 6 },
  { id: 'maxmem', header: 'MAXMEM(k)', width: 10 },
  { id: 'maxPct', header: 'MAXMEM(%)', width: 9 },
  { id: 'vcpus', header: 'VCPUS', width: 5 },
  { id: 'nets', header: 'NETS', width: 4 },
  { id: 'netTx', header: 'NETTX(k)', width: 8 },
  { id: 'netRx', header: 'NETRX(k)', width: 8 },
  { id: 'vbds', header: 'VBDS', width: 4 },
  { id: 'vbdOo', header: 'VBD_OO', width: 8 },
  { id: 'vbdRd', header: 'VBD_RD', width: 8 },
  { id: 'vbdWr', header: 'VBD_WR', width: 8 },
  { id: 'vbdRsect', header: 'VBD_RSECT', width: 10 },
  { id: 'vbdWsect', header: 'VBD_WSECT', width: 10 },
  { id: 'ssid', header: 'SSID', width: 4 },
] as const;

export type XentopFieldId = (typeof XENTOP_FIELDS)[number]['id'];

/** The widths of one iteration (reset_field_widths, then adjust_field_widths per domain). */
export type FieldWidths = Record<XentopFieldId, number>;

/** print_state: "dsbcpr", '-' for each state the domain is not in. */
export function stateLetters(d: DomainStats): string {
  const s = d.state;
  return (s.dying ? 'd' : '-') + (s.shutdown ? 's' : '-') + (s.blocked ? 'b' : '-') + (s.crashed ? 'c' : '-') + (s.paused ? 'p' : '-') + (s.running ? 'r' : '-');
}

/** One field of do_domain(), as xentop prints it. */
export function formatField(id: XentopFieldId, d: DomainStats, totalKiB: number, widths: FieldWidths, fullName: boolean): string {
  const vbd = (field: VbdField, width: number): string => {
    const r = totVbdReqs(d, field);
    // print("%*llu", width, vbd_rd) / print("%*c", width, '-')
    return padLeft(r.show ? llu(r.total) : '-', width);
  };
  switch (id) {
    case 'name':
      // print("%*s", fields[FIELD_NAME-1].default_width, name) with -f, else print("%10.10s", name)
      return fullName ? padLeft(d.name, widths.name) : padLeft(d.name.slice(0, 10), 10);
    case 'state':
      return stateLetters(d);
    case 'cpu':
      // print("%10llu", xenstat_domain_cpu_ns(domain)/1000000000)
      return padLeft(llu(d.cpuNs / 1e9), 10);
    case 'cpuPct':
      // print("%6.1f", get_cpu_pct(domain))
      return padLeft(cFixed1(d.cpuPct), 6);
    case 'mem':
      // print("%10llu", xenstat_domain_cur_mem(domain)/1024): cur_mem is in bytes
      return padLeft(llu(d.memKiB), 10);
    case 'memPct':
      // print("%6.1f", (double)cur_mem / (double)xenstat_node_tot_mem(cur_node) * 100)
      return padLeft(cFixed1(((d.memKiB * 1024) / (totalKiB * 1024)) * 100), 6);
    case 'maxmem':
      // print("%10s", "no limit") for max_mem == (unsigned long long)-1, else print("%10llu", max_mem/1024)
      return padLeft(d.maxMemKiB === null ? 'no limit' : llu(d.maxMemKiB), 10);
    case 'maxPct':
      // print("%9s", "n/a"), else print("%9.1f", (double)max_mem / (double)tot_mem * 100)
      return padLeft(d.maxMemKiB === null ? 'n/a' : cFixed1(((d.maxMemKiB * 1024) / (totalKiB * 1024)) * 100), 9);
    case 'vcpus':
      // print("%5u", xenstat_domain_num_vcpus(domain))
      return padLeft(String(d.vcpus), 5);
    case 'nets':
      // print("%4u", xenstat_domain_num_networks(domain))
      return padLeft(String(d.nets.length), 4);
    case 'netTx':
      // print("%*llu", fields[FIELD_NET_TX-1].default_width, tot_net_bytes(domain, FALSE)/1024)
      return padLeft(llu(totNetBytes(d, false) / 1024), widths.netTx);
    case 'netRx':
      return padLeft(llu(totNetBytes(d, true) / 1024), widths.netRx);
    case 'vbds':
      // print("%4u", xenstat_domain_num_vbds(domain))
      return padLeft(String(d.vbds.length), 4);
    case 'vbdOo':
      // print("%8llu", vbd_oo) / print("%8c", '-'): a fixed width, unlike the other vbd fields
      return vbd('oo', 8);
    case 'vbdRd':
      return vbd('rd', widths.vbdRd);
    case 'vbdWr':
      return vbd('wr', widths.vbdWr);
    case 'vbdRsect':
      return vbd('rsect', widths.vbdRsect);
    case 'vbdWsect':
      return vbd('wsect', widths.vbdWsect);
    case 'ssid':
      // print("%4u", xenstat_domain_ssid(domain))
      return padLeft(String(d.ssid), 4);
  }
}

/** do_header(): each header right-aligned in its field's width, one space between. */
export function headerLine(widths: FieldWidths): string {
  return XENTOP_FIELDS.map((f) => padLeft(f.header, widths[f.id])).join(' ') + '\n';
}

/** do_domain(). */
export function domainLine(d: DomainStats, totalKiB: number, widths: FieldWidths, fullName: boolean): string {
  return XENTOP_FIELDS.map((f) => formatField(f.id, d, totalKiB, widths, fullName)).join(' ') + '\n';
}

/**
 * do_vcpu(): "VCPUs(sec): ", then " %2u: %10llus" per online vCPU, with a line break
 * and 8 spaces before every vCPU whose index is a multiple of 5 (the index, not the
 * count printed, as `if (i != 0 && (i%5)==0)` reads).
 */
export function vcpuLines(d: DomainStats): string {
  let out = 'VCPUs(sec): ';
  const times = d.vcpuNs ?? [];
  for (let i = 0; i < times.length; i++) {
    const ns = times[i];
    if (ns === null || ns === undefined) continue;
    if (i !== 0 && i % 5 === 0) out += '\n        ';
    out += ` ${padLeft(String(i), 2)}: ${padLeft(llu(ns / 1e9), 10)}s`;
  }
  return out + '\n';
}

/** do_network(): "Net%d RX: %8llubytes %8llupkts %8lluerr %8lludrop  TX: ...\n" per vif. */
export function networkLines(d: DomainStats): string {
  return d.nets
    .map(
      (n, i) =>
        `Net${i} RX: ${padLeft(llu(n.rbytes), 8)}bytes ${padLeft(llu(n.rpackets), 8)}pkts ${padLeft(llu(n.rerrs), 8)}err ${padLeft(llu(n.rdrop), 8)}drop  ` +
        `TX: ${padLeft(llu(n.tbytes), 8)}bytes ${padLeft(llu(n.tpackets), 8)}pkts ${padLeft(llu(n.terrs), 8)}err ${padLeft(llu(n.tdrop), 8)}drop\n`,
    )
    .join('');
}

/** printf("%2x"). */
function hex2(n: number): string {
  return padLeft((n >>> 0).toString(16), 2);
}

/**
 * do_vbd(): "VBD %s %4d %s OO: %8llu   RD: %8llu   WR: %8llu   RSECT: %10llu   WSECT: %10llu\n",
 * or the same with %8c / %10c and '-' for a vbd in error. The details are Linux's
 * snprintf(details, 20, "[%2x:%2x] ", MAJOR(dev), MINOR(dev)) with <linux/kdev_t.h>'s
 * user-space MAJOR(dev) = dev >> 8 and MINOR(dev) = dev & 0xff.
 */
export function vbdLines(d: DomainStats): string {
  return d.vbds
    .map((v) => {
      const details = `[${hex2(v.dev >>> 8)}:${hex2(v.dev & 0xff)}] `;
      const head = `VBD ${v.backend} ${padLeft(String(v.dev | 0), 4)} ${details}`;
      const f = (n: number, w: number): string => padLeft(v.error ? '-' : llu(n), w);
      return `${head} OO: ${f(v.oo, 8)}   RD: ${f(v.rd, 8)}   WR: ${f(v.wr, 8)}   RSECT: ${f(v.rsect, 10)}   WSECT: ${f(v.wsect, 10)}\n`;
    })
    .join('');
}

/**
 * The batch printer. One instance per run: with -f the NAME width only ever grows,
 * because reset_field_widths() resets the number fields each iteration but not NAME.
 */
export class XentopBatch {
  private nameWidth = 10;

  constructor(private readonly options: XentopBatchOptions = DEFAULT_BATCH_OPTIONS) {}

  /** The text of one iteration of top() in batch mode. */
  iteration(frame: StatsFrame): string {
    const o = this.options;
    // qsort(domains, ..., compare_domains) with sort_field = FIELD_DOMID (0), which indexes
    // fields[0] = NAME: batch output is sorted by name, case-insensitively.
    const domains = [...frame.domains].sort((a, b) => strcasecmp(a.name, b.name));
    const widths = this.widths(domains);
    let out = '';
    domains.forEach((d, i) => {
      if (i === 0 || o.repeatHeader) out += headerLine(widths);
      out += domainLine(d, frame.host.totalKiB, widths, o.fullName);
      if (o.vcpus) out += vcpuLines(d);
      if (o.networks) out += networkLines(d);
      if (o.vbds) out += vbdLines(d);
    });
    return out;
  }

  /** reset_field_widths(), then adjust_field_widths() for every domain shown. */
  private widths(domains: readonly DomainStats[]): FieldWidths {
    const w = Object.fromEntries(XENTOP_FIELDS.map((f) => [f.id, f.width])) as FieldWidths;
    const grow = (id: XentopFieldId, n: number) => {
      if (n > w[id]) w[id] = n;
    };
    for (const d of domains) {
      if (this.options.fullName && d.name.length > this.nameWidth) this.nameWidth = d.name.length;
      grow('netTx', intFieldWidth(totNetBytes(d, false) / 1024 + 1));
      grow('netRx', intFieldWidth(totNetBytes(d, true) / 1024 + 1));
      grow('vbdRd', intFieldWidth(totVbdReqs(d, 'rd').total + 1));
      grow('vbdWr', intFieldWidth(totVbdReqs(d, 'wr').total + 1));
      grow('vbdRsect', intFieldWidth(totVbdReqs(d, 'rsect').total + 1));
      grow('vbdWsect', intFieldWidth(totVbdReqs(d, 'wsect').total + 1));
    }
    w.name = this.nameWidth;
    return w;
  }
}

// ------------------------------------------------------------------ the batch run

export interface BatchRunOptions {
  feed: StatsFeed;
  /** -i: stop after this many frames; 0 or less runs until interrupted (xentop's -i 0 wraps to UINT_MAX). */
  iterations: number;
  /** --json: one object per frame and line (README's JSON names: topFrameJson) instead of xentop's text. */
  json: boolean;
  options: XentopBatchOptions;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

/**
 * `xenemu top -b`: print a frame as it comes, xentop's text or a JSON line, until -i
 * frames are out, SIGINT or SIGTERM (exit 0, as xentop's signal_exit_handler ends its
 * loop), the reader goes away (a closed pipe: exit 0 quietly), or the daemon does
 * (exit 1, with the reason on stderr). Resolves with the exit status.
 */
export function runBatch(run: BatchRunOptions): Promise<number> {
  const out = run.stdout ?? process.stdout;
  const err = run.stderr ?? process.stderr;
  const printer = new XentopBatch(run.options);
  return new Promise<number>((resolve) => {
    let printed = 0;
    let done = false;
    const cleanups: Array<() => void> = [];
    const finish = (status: number, why?: string) => {
      if (done) return;
      done = true;
      for (const c of cleanups.splice(0)) c();
      run.feed.close();
      if (why !== undefined) err.write(`${why}\n`);
      resolve(status);
    };
    const onSignal = () => finish(0);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const onError = (e: NodeJS.ErrnoException) => finish(e.code === 'EPIPE' ? 0 : 1, e.code === 'EPIPE' ? undefined : `xenemu top: cannot write: ${e.message}`);
    out.on('error', onError);
    cleanups.push(
      () => process.off('SIGINT', onSignal),
      () => process.off('SIGTERM', onSignal),
      () => out.off('error', onError),
    );
    cleanups.push(run.feed.onLost((e) => finish(1, `xenemu top: ${e.message}`)));
    cleanups.push(
      run.feed.onFrame((frame) => {
        if (done) return;
        printed++;
        const last = run.iterations > 0 && printed >= run.iterations;
        const text = run.json ? `${JSON.stringify(topFrameJson(frame))}\n` : printer.iteration(frame);
        // xentop fflush()es after every iteration; here the last write is waited for.
        if (last) out.write(text, () => finish(0));
        else out.write(text);
      }),
    );
  });
}
