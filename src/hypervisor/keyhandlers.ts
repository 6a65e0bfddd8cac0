/**
 * Xen's debug keys (xen/common/keyhandler.c, Xen 4.17): what XEN_SYSCTL_debug_keys (`xl
 * debug-keys KEYS`) runs, one key at a time, each handler printing to the hypervisor
 * console that `xl dmesg` reads. Only the keys whose output this hypervisor's own state
 * can really produce are installed, with the printk formats of the Xen code that owns
 * them; `h` lists exactly these. A key with no handler is ignored, as handle_keypress()
 * ignores it (no message, no error).
 *
 * Left out on purpose: what dumps state the emulation has no counterpart of (registers
 * 'd' '0', timer heaps 'a', run queues 'r', physical memory zones 'm' and NUMA ranges
 * 'u', IRQs, IOMMU, MSI, ...), what would act on the machine ('R' reboot, 'C' crash
 * dump, 'N' NMI), and console knobs the emulated console does not have ('+', '-', 'G').
 */

import { VIRQ } from '../abi/index.js';
import type { Domain } from './domain.js';
import type { EventChannelTable } from './evtchn.js';
import type { Hypervisor } from './hypervisor.js';

interface KeyHandler {
  /** The description `h` prints (register_keyhandler's desc). */
  readonly desc: string;
  /** Run by '*' (the `diagnostic` flag of register_keyhandler). */
  readonly diagnostic: boolean;
  run(key: string): void;
}

/** ECS_* (xen/include/xen/sched.h): the `s=` of an 'e' line. */
const ECS = { unbound: 2, interdomain: 3, pirq: 4, virq: 5, ipi: 6 } as const;

/** _VPF_blocked and _VPF_down (xen/include/xen/sched.h): the pause_flags of 'q'. */
const VPF_BLOCKED = 1 << 0;
const VPF_DOWN = 1 << 1;

/** GNTPIN_*_shift (grant_table.c): act->pin packs four 8-bit use counters. */
const GNTPIN_HSTW_SHIFT = 0;
const GNTPIN_HSTR_SHIFT = 8;
const GNTPIN_DEVW_SHIFT = 16;
const GNTPIN_DEVR_SHIFT = 24;

/** is_dying: DOMDYING_alive, DOMDYING_dead (a killed domain kept by pages others still map). */
const DOMDYING_ALIVE = 0;
const DOMDYING_DEAD = 2;

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/** Xen's %*pbl (bitmap_scnlistprintf): the set bits as ranges, "0-3,5"; nothing for none. */
export function bitmapList(set: readonly number[]): string {
  const bits = [...new Set(set)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < bits.length; ) {
    let j = i;
    while (j + 1 < bits.length && bits[j + 1] === bits[j]! + 1) j++;
    out.push(j === i ? `${bits[i]}` : `${bits[i]}-${bits[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

/**
 * The installed key handlers of one hypervisor, and the little state they keep across
 * presses (read_clocks' running statistics).
 */
export class DebugKeys {
  private readonly table: ReadonlyMap<string, KeyHandler>;
  /** read_clocks' statics: samples taken (the skews are always 0 here, see 't'). */
  private clockSamples = 0;

  constructor(private readonly hv: Hypervisor) {
    const handlers: Array<[string, KeyHandler]> = [
      ['*', { desc: 'print all diagnostics', diagnostic: false, run: (k) => this.runAll(k) }],
      ['e', { desc: 'dump evtchn info', diagnostic: true, run: (k) => this.dumpEvtchnInfo(k) }],
      ['g', { desc: 'print grant table usage', diagnostic: true, run: (k) => this.gnttabUsagePrintAll(k) }],
      ['h', { desc: 'show this message', diagnostic: false, run: (k) => this.showHandlers(k) }],
      ['q', { desc: 'dump domain (and guest debug) info', diagnostic: true, run: (k) => this.dumpDomains(k) }],
      ['t', { desc: 'display multi-cpu clock info', diagnostic: true, run: () => this.readClocks() }],
    ];
    // key_table[] is indexed by the key: every walk over it goes in ASCII order.
    this.table = new Map(handlers.sort(([a], [b]) => a.charCodeAt(0) - b.charCodeAt(0)));
  }

  /** The keys installed, in the order `h` lists them. */
  get keys(): string[] {
    return [...this.table.keys()];
  }

  /**
   * XEN_SYSCTL_debug_keys: handle_keypress() for each byte of `keys` in turn. A byte
   * with no handler (any byte from 128 up: key_table has 128 slots) does nothing.
   */
  press(keys: Uint8Array): void {
    for (const byte of keys) {
      const key = String.fromCharCode(byte);
      if (byte < 128) this.table.get(key)?.run(key);
    }
  }

  private print(line: string): void {
    this.hv.log(line);
  }

  /** for_each_domain: domain_list holds every domain not yet destroyed, dying ones too, by domid. */
  private domainList(): Domain[] {
    return [...this.hv.domains.values(), ...this.hv.dying.values()].sort((a, b) => a.domid - b.domid);
  }

  /** NOW(): Xen's system time, nanoseconds since it booted. */
  private now(): number {
    return this.hv.clock.now() - this.hv.startedAtNs;
  }

  // ---- keyhandler.c ------------------------------------------------------------------

  /** show_handlers ('h'). */
  private showHandlers(key: string): void {
    this.print(`'${key}' pressed -> showing installed handlers`);
    for (const [k, h] of this.table) this.print(` key '${k}' (ascii '${hex(k.charCodeAt(0), 2)}') => ${h.desc}`);
  }

  /**
   * run_all_keyhandlers ('*'): every diagnostic handler, in key order, each under its
   * "[k: desc]" heading. Xen runs the IRQ-context ones at once (none is installed here)
   * and the others from a tasklet just after; here they all run before the sysctl returns.
   */
  private runAll(key: string): void {
    this.print(`'${key}' pressed -> firing all diagnostic keyhandlers`);
    for (const [k, h] of this.table) {
      if (!h.diagnostic) continue;
      this.print(`[${k}: ${h.desc}]`);
      h.run(k);
    }
  }

  /**
   * read_clocks ('t'): the spread of the CPUs' system time and cycle counter, read at one
   * rendezvous. Every emulated CPU reads the one hypervisor clock, so the skews are 0.
   */
  private readClocks(): void {
    this.clockSamples++;
    this.print(`Synced stime skew: max=0ns avg=0ns samples=${this.clockSamples} current=0ns`);
    this.print(`Synced cycles skew: max=0 avg=0 samples=${this.clockSamples} current=0`);
  }

  /**
   * dump_domains ('q'): each domain's common state, its vCPUs, then VIRQ_DEBUG sent to
   * every vCPU (guests that bound it print their own state). The arch and page-level
   * parts (paging assistance, rangesets, the page list) are not printed: the emulation
   * has no page tables, I/O ranges or page type counts to show.
   */
  private dumpDomains(key: string): void {
    this.print(`'${key}' pressed -> dumping domain info (now = ${this.now()})`);
    const domains = this.domainList();
    const pcpus = this.hv.host.pcpus;
    const all = Array.from({ length: pcpus }, (_, i) => i);
    for (const d of domains) {
      const dead = d.dying;
      const nrPages = d.memory.reservation;
      // share_xen_page_with_guest: shared_info and each grant-table frame are Xen heap pages
      // of the domain; relinquish_resources gives them back when it is killed.
      const xenheapPages = dead ? 0 : 1 + (d.grantTable?.nrFrames ?? 0);
      // domain_create takes one reference, the first page assigned one, the first Xen heap
      // page one; domain_kill drops the first, and the others go with the last such page.
      const refcnt = (dead ? 0 : 1) + (nrPages > 0 ? 1 : 0) + (xenheapPages > 0 ? 1 : 0);
      const running = d.vcpus.filter((v) => this.isRunning(d, v.id));
      const dirty = running.map((v) => v.pcpu);
      this.print(`General information for domain ${d.domid}:`);
      this.print(`    refcnt=${refcnt} dying=${dead ? DOMDYING_DEAD : DOMDYING_ALIVE} pause_count=${d.pauseCount}`);
      this.print(`    nr_pages=${nrPages} xenheap_pages=${xenheapPages} dirty_cpus={${bitmapList(dirty)}} max_pages=${Math.floor(d.maxKiB / 4)}`);
      // No HYPERVISOR_vm_assist here: no guest has any assist turned on.
      this.print(`    handle=${d.uuid.toLowerCase()} vm_assist=${hex(0, 8)}`);
      // One NUMA node (xl info's nr_nodes).
      this.print(`NODE affinity for domain ${d.domid}: [0]`);
      this.print(`VCPU information and callbacks for domain ${d.domid}:`);
      for (const v of d.vcpus) {
        // sched-gran=cpu: one scheduling unit per vCPU, numbered as it.
        this.print(`  UNIT${v.id} affinities: hard={${bitmapList(v.hardAffinity ?? all)}} soft={${bitmapList(v.softAffinity ?? all)}}`);
        const info = d.evtchn?.vcpuInfo(v.id) ?? null;
        const has = this.isRunning(d, v.id);
        // vcpu_info(v, evtchn_upcall_pending) and !vcpu_event_delivery_is_enabled (x86: the vcpu_info's mask).
        const pend = hex(info?.evtchnUpcallPending ?? 0, 2);
        const mask = hex(info?.evtchnUpcallMask ?? 0, 2);
        // No SCHEDOP_poll here: no vCPU ever polls (poll=0); a running vCPU's state is on its CPU.
        this.print(`    VCPU${v.id}: CPU${v.pcpu} [has=${has ? 'T' : 'F'}] poll=0 upcall_pend=${pend} upcall_mask=${mask} ${has ? `dirty_cpu=${v.pcpu}` : ''}`);
        // domain_shutdown pauses each vCPU once (vcpu_pause_nosync); a vCPU not running waits blocked.
        const flags = !v.online ? VPF_DOWN : has ? 0 : VPF_BLOCKED;
        this.print(`    pause_count=${d.shutdownReason !== null ? 1 : 0} pause_flags=${flags.toString(16)}`);
        const period = d.timers?.vcpuPeriodNs(v.id);
        if (period === undefined) this.print('No periodic timer');
        else this.print(`${Math.floor(1e9 / period)} Hz periodic timer (period ${Math.floor(period / 1e6)} ms)`);
      }
    }
    // send_guest_vcpu_virq: guests that bound VIRQ_DEBUG print their own state.
    for (const d of domains) {
      for (const v of d.vcpus) {
        this.print(`Notifying guest ${d.domid}:${v.id} (virq ${VIRQ.DEBUG}, port ${d.evtchn?.virqPort(VIRQ.DEBUG, v.id) ?? 0})`);
        d.evtchn?.raiseVirq(VIRQ.DEBUG, v.id);
      }
    }
    // arch_dump_shared_mem_info: no memory sharing here (nor in a Xen built without it).
    this.print('Shared frames 0 -- Saved frames 0');
  }

  /** The sysctl comes from dom0's toolstack, so dom0's vCPU 0 is running it (as `xl vcpu-list` shows). */
  private isRunning(d: Domain, vcpu: number): boolean {
    return d.vcpus[vcpu]!.running || (d.domid === 0 && vcpu === 0);
  }

  // ---- event_channel.c ---------------------------------------------------------------

  /** dump_evtchn_info ('e'). */
  private dumpEvtchnInfo(key: string): void {
    this.print(`'${key}' pressed -> dumping event-channel info`);
    for (const d of this.domainList()) this.domainDumpEvtchnInfo(d);
  }

  /**
   * domain_dump_evtchn_info: every bound port with its pending and mask bits (shared_info),
   * its notified vCPU's selector bit for the port's word (evtchn_2l_print_state), its
   * ECS_* state, vCPU and Xen consumer (none here: every port is a guest's), and the
   * state's details. No vCPU polls (no SCHEDOP_poll), and no XSM label is shown.
   */
  private domainDumpEvtchnInfo(d: Domain): void {
    this.print(`Event channel information for domain ${d.domid}:`);
    this.print('Polling vCPUs: {}');
    this.print('    port [p/m/s]');
    const t: EventChannelTable | null = d.evtchn;
    if (t === null) return;
    for (let port = 1; port < t.tableSize; port++) {
      const ch = t.ports[port];
      if (ch === undefined) continue;
      const p = t.shared.testPending(port) ? 1 : 0;
      const m = t.shared.isMasked(port) ? 1 : 0;
      // A vCPU with no vcpu_info yet has Xen's dummy one, whose selector is clear.
      const s = t.vcpuInfo(ch.vcpu)?.testSel(port >> 6) === true ? 1 : 0;
      let line = `    ${String(port).padStart(4)} [${p}/${m}/${s}]: s=${ECS[ch.state]} n=${ch.vcpu} x=0`;
      switch (ch.state) {
        case 'unbound':
          line += ` d=${ch.remoteDomid}`;
          break;
        case 'interdomain':
          line += ` d=${ch.remoteDomid} p=${ch.remotePort}`;
          break;
        case 'virq':
          line += ` v=${ch.virq}`;
          break;
        default:
          break;
      }
      this.print(line);
    }
  }

  // ---- grant_table.c -----------------------------------------------------------------

  /** gnttab_usage_print_all ('g'). */
  private gnttabUsagePrintAll(key: string): void {
    this.print(`gnttab_usage_print_all [ key '${key}' pressed`);
    for (const d of this.domainList()) this.gnttabUsagePrint(d);
    this.print('gnttab_usage_print_all ] done');
  }

  /**
   * gnttab_usage_print: the table's size, then each grant in use (pinned): who uses it,
   * its frame, its pin counters, and the shared entry as the granter wrote it. The
   * "mfn" is the guest frame: this hypervisor gives guests their frames one to one (as
   * start_info's store_mfn shows).
   */
  private gnttabUsagePrint(d: Domain): void {
    const gt = d.grantTable;
    if (gt === null) return;
    this.print('      -------- active --------       -------- shared --------');
    this.print('[ref] localdom mfn      pin          localdom gmfn     flags');
    this.print(`grant-table for remote d${d.domid} (v1)`);
    this.print(`  ${gt.nrFrames} frames (${gt.maxFrames} max), ${gt.maptrackFrames} maptrack frames (${gt.maxMaptrackFrames} max)`);
    let first = true;
    for (const [ref, act] of gt.active) {
      const p = act.pins;
      const pin = ((p.hostWrite << GNTPIN_HSTW_SHIFT) | (p.hostRead << GNTPIN_HSTR_SHIFT) | (p.devWrite << GNTPIN_DEVW_SHIFT) | (p.devRead << GNTPIN_DEVR_SHIFT)) >>> 0;
      if (pin === 0) continue;
      first = false;
      const e = gt.entries;
      this.print(
        `[0x${hex(ref, 3)}]  ${String(act.domid).padStart(5)} 0x${hex(act.gfn, 5)} 0x${hex(pin, 8)}      ${String(e.domid(ref)).padStart(5)} 0x${hex(e.frame(ref), 6)} 0x${hex(e.flags(ref), 2)}`,
      );
    }
    if (first) this.print('no active grant table entries');
  }
}
