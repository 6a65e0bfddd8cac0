import { EVTCHN_2L_NR_CHANNELS, HVM_PARAM, StartInfoView } from '../abi/index.js';
import { XsClient, type XsTransport } from '../client/xs-client.js';
import type { Clock } from '../hypervisor/clock.js';
import { cpuidSignature } from '../hypervisor/cpuid.js';
import type { DomainType, ShutdownReason } from '../hypervisor/domain.js';
import { LEGACY_MAX_VCPUS } from '../hypervisor/domain.js';
import type { Hypercalls } from '../hypervisor/hypercalls.js';
import { BalloonDriver } from './balloon/balloon.js';
import { HvcConsole } from './console/hvc.js';
import { ControlDriver } from './control/control.js';
import { CpuHotplug } from './cpu-hotplug.js';
import { EvtchnDispatch } from './intr/evtchn-dispatch.js';
import { KernelLog } from './kernel-log.js';
import { xenstoreRingTransport } from './xenstore/ring-transport.js';

/**
 * Where a guest finds its boot information. A PV kernel is handed the frame of its
 * start_info page; an HVM or PVH kernel reads HVM params instead. dom0 is built by the
 * host and reaches xenstored in-process.
 */
export type BootInfo =
  | { kind: 'pv'; startInfoGfn: number }
  | { kind: 'hvm'; sharedInfoGfn: number }
  | { kind: 'dom0'; xenstore: XsTransport; sharedInfoGfn: number };

export interface KernelOptions {
  domid: number;
  name: string;
  type: DomainType;
  vcpus: number;
  /** Frames the domain was built with (start_info.nr_pages for PV). */
  pages: number;
  hc: Hypercalls;
  clock: Clock;
  boot: BootInfo;
}

/** The top frames of a guest are the builder's (start_info, rings); the kernel allocates below them. */
const RESERVED_TOP_FRAMES = 16;

/**
 * The emulated PV-aware kernel that runs in every domain, dom0 included. Its boot
 * follows FreeBSD's Xen start-up: find Xen through the CPUID hypervisor leaves, set up
 * the hypercall page and shared_info, give every vCPU a vcpu_info, install the event
 * upcall, then XenStore, then XenBus and the drivers on top of it (control, balloon,
 * vCPU hotplug). Whether it is PV or HVM is decided at run time from what it finds,
 * not built in.
 */
export class Kernel {
  readonly log: KernelLog;
  readonly hc: Hypercalls;
  readonly domid: number;
  readonly name: string;
  state: 'created' | 'booting' | 'running' | 'halted' = 'created';
  intr!: EvtchnDispatch;
  xs!: XsClient;
  console: HvcConsole | null = null;
  /** The CPUID leaf where Xen's signature was found. */
  xenLeaf = -1;
  private nextKernelFrame: number;
  private pages: number;
  private readonly options: KernelOptions;

  constructor(options: KernelOptions) {
    this.options = options;
    this.hc = options.hc;
    this.domid = options.domid;
    this.name = options.name;
    this.pages = options.pages;
    this.nextKernelFrame = options.pages - RESERVED_TOP_FRAMES;
    this.log = new KernelLog(options.clock, (line) => this.console?.writeLine(line));
  }

  /** xen_domain(): true once Xen was found. */
  get xenDomain(): boolean {
    return this.xenLeaf >= 0;
  }

  /** xen_pv_domain(): a PV guest (no hardware virtualisation). */
  get xenPvDomain(): boolean {
    return this.xenDomain && this.options.type === 'pv';
  }

  /** xen_hvm_domain(): an HVM container, which a PVH guest also is. */
  get xenHvmDomain(): boolean {
    return this.xenDomain && this.options.type !== 'pv';
  }

  get initialDomain(): boolean {
    return this.options.boot.kind === 'dom0';
  }

  async boot(): Promise<void> {
    this.state = 'booting';
    const o = this.options;
    this.log.print(`Booting ${o.name} (domain ${o.domid}, ${o.type.toUpperCase()}, ${o.vcpus} vCPUs, ${o.pages * 4} KiB)`);
    this.detectXen();
    const { sharedInfoGfn, store, consoleRing } = this.readBootInfo();
    this.hc.mapSharedInfo(sharedInfoGfn);
    this.log.print(`xen: shared_info page mapped at gfn 0x${sharedInfoGfn.toString(16)}`);
    this.maskAllPorts();
    this.setUpVcpuInfo();
    this.intr = new EvtchnDispatch(this.hc.evtchn.shared, (v) => this.hc.evtchn.vcpuInfo(v), o.vcpus);
    this.hc.setUpcallHandler((v) => this.upcall(v));
    this.log.print(`xen:events: using 2-level event channels (${EVTCHN_2L_NR_CHANNELS} ports), ${this.xenPvDomain ? 'PV upcall' : 'HVM vector callback'}`);
    if (consoleRing !== null) {
      this.console = new HvcConsole(this.hc.page(consoleRing.gfn), consoleRing.port, this.hc, this.intr);
      this.log.print(`hvc0: console ring at gfn 0x${consoleRing.gfn.toString(16)}, event channel ${consoleRing.port}`);
    }
    const transport = store.kind === 'ring' ? xenstoreRingTransport(this.hc.page(store.gfn), store.port, this.hc, this.intr) : store.transport;
    this.xs = new XsClient(transport);
    this.log.print(store.kind === 'ring' ? `xenstore: ring at gfn 0x${store.gfn.toString(16)}, event channel ${store.port}` : 'xenstore: local connection (xenstored runs in this domain)');
    const home = await this.xs.getDomainPath(o.domid);
    this.log.print(`xenbus: connected; home ${home}`);
    await this.startDrivers();
    this.state = 'running';
    this.log.print('Freeing unused kernel memory; reached the idle loop');
  }

  /**
   * Find Xen as FreeBSD's xen_hvm_init_hypercall_stubs does: scan the hypervisor CPUID
   * range in 0x100 steps for "XenVMMXenVMM", which sits at 0x40000100 when Viridian
   * (Hyper-V) took 0x40000000.
   */
  private detectXen(): void {
    for (let leaf = 0x40000000; leaf < 0x40010000; leaf += 0x100) {
      const r = this.hc.cpuid(leaf);
      const sig = cpuidSignature(r);
      if (sig === 'XenVMMXenVMM') {
        this.xenLeaf = leaf;
        const v = this.hc.cpuid(leaf + 1)[0];
        const msr = this.hc.cpuid(leaf + 2)[1];
        this.log.print(`Hypervisor detected: Xen ${v >>> 16}.${v & 0xffff} at CPUID leaf 0x${leaf.toString(16)}`);
        this.log.print(`xen: hypercall page installed through MSR 0x${msr.toString(16)}`);
        return;
      }
      if (sig !== '') this.log.print(`Hypervisor signature "${sig}" at CPUID leaf 0x${leaf.toString(16)}; looking further for Xen`);
    }
    throw new Error('no Xen hypervisor found in the CPUID leaves');
  }

  private readBootInfo(): {
    sharedInfoGfn: number;
    store: { kind: 'ring'; gfn: number; port: number } | { kind: 'local'; transport: XsTransport };
    consoleRing: { gfn: number; port: number } | null;
  } {
    const b = this.options.boot;
    if (b.kind === 'dom0') return { sharedInfoGfn: b.sharedInfoGfn, store: { kind: 'local', transport: b.xenstore }, consoleRing: null };
    if (b.kind === 'pv') {
      const si = new StartInfoView(this.hc.page(b.startInfoGfn));
      if (!si.magic.startsWith('xen-3.0-x86_64')) throw new Error(`bad start_info magic "${si.magic}"`);
      this.log.print(`xen: start_info at gfn 0x${b.startInfoGfn.toString(16)} (${si.magic}), ${si.nrPages} pages, cmdline "${si.cmdLine}"`);
      return {
        sharedInfoGfn: Number(si.sharedInfo >> 12n),
        store: { kind: 'ring', gfn: Number(si.storeMfn), port: si.storeEvtchn },
        consoleRing: { gfn: Number(si.consoleMfn), port: si.consoleEvtchn },
      };
    }
    const param = (index: number) => Number(this.hc.hvmParam(index));
    return {
      sharedInfoGfn: b.sharedInfoGfn,
      store: { kind: 'ring', gfn: param(HVM_PARAM.STORE_PFN), port: param(HVM_PARAM.STORE_EVTCHN) },
      consoleRing: { gfn: param(HVM_PARAM.CONSOLE_PFN), port: param(HVM_PARAM.CONSOLE_EVTCHN) },
    };
  }

  /** Linux and FreeBSD start with every port masked and unmask each one as they bind it. */
  private maskAllPorts(): void {
    const shared = this.hc.evtchn.shared;
    for (let port = 0; port < EVTCHN_2L_NR_CHANNELS; port++) shared.testAndSetMask(port);
  }

  /**
   * vCPUs 0-31 find their vcpu_info in shared_info. The others have no slot there, so
   * the kernel places theirs in its own frames (64 per page) and registers each with
   * VCPUOP_register_vcpu_info before the vCPU may take events.
   */
  private setUpVcpuInfo(): void {
    const n = this.options.vcpus;
    if (n <= LEGACY_MAX_VCPUS) return;
    const perPage = 4096 / 64;
    let gfn = -1;
    for (let v = LEGACY_MAX_VCPUS; v < n; v++) {
      const slot = (v - LEGACY_MAX_VCPUS) % perPage;
      if (slot === 0) gfn = this.allocFrame();
      this.hc.registerVcpuInfo(v, gfn, slot * 64);
    }
    this.log.print(`xen: registered vcpu_info for vCPUs ${LEGACY_MAX_VCPUS}-${n - 1} in own pages`);
  }

  /** A frame for the kernel's own structures, from just below the builder's pages. */
  allocFrame(): number {
    return this.nextKernelFrame--;
  }

  private async startDrivers(): Promise<void> {
    const o = this.options;
    if (o.boot.kind !== 'dom0') {
      await new ControlDriver(this.xs, this.log, (reason) => this.halt(reason)).start();
    }
    await new BalloonDriver(this.xs, this.hc, this.log, () => this.hc.currentPages(), 0x100).start();
    await new CpuHotplug(this.xs, this.hc, this.log, (v) => this.hc.vcpuOnline(v)).start();
  }

  /** The event upcall on one vCPU, with the time it takes charged to that vCPU. */
  private upcall(vcpu: number): void {
    const start = process.hrtime.bigint();
    this.intr.upcall(vcpu);
    this.hc.chargeCpuTime(vcpu, Number(process.hrtime.bigint() - start));
  }

  /** Stop the kernel and tell Xen why (SCHEDOP_shutdown). */
  halt(reason: ShutdownReason): void {
    this.log.print(`reboot: ${reason === 'reboot' ? 'Restarting system' : reason === 'suspend' ? 'Suspending' : 'Power down'}`);
    this.state = 'halted';
    this.hc.shutdown(reason);
  }

  /** The domain is going away: drop its connections. */
  stop(): void {
    this.state = 'halted';
    this.xs?.close();
  }
}
