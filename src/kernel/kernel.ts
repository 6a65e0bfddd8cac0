import { EVTCHN_2L_NR_CHANNELS, HVM_PARAM, HVM_PARAM_CALLBACK_TYPE, HVM_PARAM_CALLBACK_TYPE_SHIFT, StartInfoView, VIRQ, XenstoreRingGuest } from '../abi/index.js';
import { XsClient, type XsTransport } from '../protocol/xs-client.js';
import { XsType } from '../protocol/xs-wire.js';
import type { Clock } from '../hypervisor/clock.js';
import { cpuidSignature } from '../hypervisor/cpuid.js';
import type { DomainType, ShutdownReason } from '../hypervisor/domain.js';
// shared_info has vcpu_info slots for this many vCPUs only.
import { XEN_LEGACY_MAX_VCPUS as LEGACY_MAX_VCPUS } from '../abi/constants.js';
import type { Hypercalls } from '../hypervisor/hypercalls.js';
import { BalloonDriver, minimumTargetPages } from './balloon/balloon.js';
import { HvcConsole } from './console/hvc.js';
import { Shell } from './console/shell.js';
import { registerBuiltins } from './console/shell-commands.js';
import { registerMemwrite } from './mm/memwrite.js';
import { ControlDriver, type ShutdownFaults } from './control/control.js';
import type { BlkFaults } from '../faults/disk-faults.js';
import { handleSysrq, type SysrqKernel } from './control/sysrq.js';
import { acpiButton, unknownNmi } from './control/triggers.js';
import { CpuHotplug } from './cpu-hotplug.js';
import type { CostModel } from './intr/cost-model.js';
import { EvtchnUser } from './intr/evtchn-dev.js';
import type { CallbackMode } from './intr/stats.js';
import { SyntheticSources, type SyntheticEventSpec } from './intr/synthetic.js';
import { XenIntr, type IntrHandlers } from './intr/xen-intr.js';
import { XenIpis } from './intr/xen-ipi.js';
import { XenTimer } from './intr/xen-timer.js';
import { KernelLog } from './kernel-log.js';
import type { KernelState } from './saved.js';
import { GuestGrantTable, hypercallGrantFrames } from './mm/gnttab.js';
import { PageAllocator } from './mm/page-allocator.js';
import { BACK, FRONT, XenbusBus } from './xenbus/bus.js';
import { GUEST_SUSPEND, type Freeze } from './xenbus/driver.js';
import type { XenbusParent } from './xenbus/parent.js';
import { XenstoreChildren } from './xenbus/xenstore-children.js';
import { Blkback } from './blk/blkback.js';
import { Blkfront } from './blk/blkfront.js';
import { BlockLayer } from './blk/block-layer.js';
import { Netback, type NetbackEvent } from './net/netback.js';
import { Netfront } from './net/netfront.js';
import { GuestNet } from './net/stack/guest-net.js';
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
  /**
   * The emulation settings of the domain config (its `xenemu` section): the timer
   * frequency, how an HVM guest takes its event upcall, and synthetic event sources.
   */
  xenemu?: {
    hz?: number;
    callback?: 'vector' | 'pci-intx';
    events?: readonly SyntheticEventSpec[];
  };
  /** Modelled interrupt costs, for studies (default: DEFAULT_COST_MODEL). */
  cost?: Partial<CostModel>;
  /** The kernel command line (a PV guest's is also in start_info): e.g. unknown_nmi_panic. */
  cmdline?: string;
  /** Told of each vif this kernel's netback connects or disconnects (the daemon's vif registry). */
  onVif?: (event: NetbackEvent) => void;
  /** Faults put on this guest on purpose (`xenemu fault add guest-...`). */
  faults?: ShutdownFaults;
  /** Faults put on the disks this kernel's blkback serves (`xenemu fault add disk-...`). */
  blkFaults?: BlkFaults;
}

/** dom0's console driver on VIRQ_CONSOLE: Xen's console has output (xenemu's driver reads none). */
const CONSOLE_VIRQ_HANDLERS: IntrHandlers = { filter: () => 'handled' };

/** Where the kernel's XenStore and console rings are, from its boot information. */
interface BootRings {
  store: { kind: 'ring'; gfn: number; port: number } | { kind: 'local'; transport: XsTransport };
  consoleRing: { gfn: number; port: number } | null;
}

/** The IDT vector FreeBSD takes Xen's callback on (IDT_EVTCHN). */
export const IDT_EVTCHN = 0x93;

/** Where xen-platform-pci sits on the emulated PCI bus: 00:03.0, INTA#. */
const PLATFORM_PCI_SLOT = 3;
const PLATFORM_PCI_PIN = 0;

/** Timer frequency when the config says nothing (FreeBSD's and xenemu's default HZ). */
export const DEFAULT_HZ = 100;

/**
 * Frames [0, KERNEL_IMAGE_FRAMES) hold the kernel's image and early page tables (the
 * first MiB, where a PV kernel is loaded); the page allocator hands out frames above.
 */
const KERNEL_IMAGE_FRAMES = 0x100;

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
  state: 'created' | 'booting' | 'running' | 'suspended' | 'halted' = 'created';
  intr!: XenIntr;
  /** The per-vCPU clock interrupt. */
  timer!: XenTimer;
  /** PV IPIs (none with the INTx callback). */
  ipis!: XenIpis;
  /**
   * An open of the kernel's /dev/xen/evtchn held for the host's scripting commands
   * (`xenemu evtchn`), with a reader that re-enables each port as soon as it fired.
   */
  evtchn!: EvtchnUser;
  synthetic: SyntheticSources | null = null;
  /** vCPUs whose per-CPU interrupts (timer, IPIs, VIRQ_DEBUG) were set up. */
  private readonly cpuReady: boolean[] = [];
  xs!: XsClient;
  /** xenstore's own children: the control, balloon and vCPU hotplug drivers. */
  xenstoreChildren!: XenstoreChildren;
  /** The front bus (`device/`): this domain's frontends. */
  xenbusFront!: XenbusBus;
  /** The back bus (`backend/`): the backends this domain serves, whichever domain it is. */
  xenbusBack!: XenbusBus;
  console: HvcConsole | null = null;
  /** The shell at the console (src/kernel/console/shell.ts): drivers add commands with shell.register. */
  readonly shell: Shell;
  /** do_suspend is freezing the devices (a second request meanwhile is not taken). */
  private freezing = false;
  /** A host checkpoint under way (checkpoint()): a suspend request waits for its end. */
  private checkpointing: Promise<void> | null = null;
  /** The CPUID leaf where Xen's signature was found. */
  xenLeaf = -1;
  /** The free frames of the domain's reservation. */
  pageAllocator!: PageAllocator;
  /** The domain's grant table, through which its frontends share pages with backends. */
  gnttab!: GuestGrantTable;
  private balloon!: BalloonDriver;
  /** The kernel's disks (what blkfront attaches; `block-io` runs on them). */
  blocks!: BlockLayer;
  /** The block drivers on the busses: every domain can be a driver domain. */
  blkfront!: Blkfront;
  blkback!: Blkback;

  get blkFaults(): BlkFaults | null {
    return this.options.blkFaults ?? null;
  }
  /** The guest's NICs (netfront) and the vifs this kernel serves (netback). */
  netfront!: Netfront;
  netback!: Netback;
  /** The guest's IPv4 on its NICs, and the console's ifconfig and ping. */
  net!: GuestNet;
  /** What the kernel was built with: a kernel loaded from a save is built with the same. */
  readonly options: KernelOptions;

  constructor(options: KernelOptions) {
    this.options = options;
    this.hc = options.hc;
    this.domid = options.domid;
    this.name = options.name;
    this.log = new KernelLog(options.clock, (line) => this.console?.writeLine(line));
    this.shell = new Shell(
      (text) => this.console?.write(text),
      () => `root@${this.name}:~# `,
    );
    registerBuiltins(this.shell, {
      nodename: () => this.name,
      type: options.type,
      xenVersion: () => this.hc.xenVersion(),
      uptimeNs: () => this.log.sinceBootNs(),
      now: () => new Date(),
      logLines: () => this.log.lines,
      clearLog: () => this.log.clear(),
    });
    registerMemwrite(this.shell, {
      alloc: () => this.pageAllocator.alloc(),
      free: (gfn) => this.pageAllocator.freePage(gfn),
      freePages: () => this.pageAllocator.free,
      page: (gfn) => this.page(gfn),
      stored: (gfn) => this.stored(gfn),
      scheduled: () => this.scheduled(),
    });
  }

  /** The kernel's own mapping of its frame `gfn` (what grantRing fills and grants). */
  page(gfn: number): Uint8Array {
    return this.hc.platform.page(gfn);
  }

  /**
   * For the programs at the console: resolves once the vCPUs run (at once if they do),
   * true, or false once the kernel stopped. While the domain is suspended nothing in it
   * runs, so a program's next step waits (polled: a suspend lasts milliseconds).
   */
  async scheduled(): Promise<boolean> {
    while (this.state === 'suspended') await new Promise((resolve) => setTimeout(resolve, 1));
    return this.state === 'running';
  }

  /** The kernel wrote its frame `gfn` (for log-dirty: see EmulatedPlatform.stored). */
  stored(gfn: number): void {
    this.hc.platform.stored(gfn);
  }

  get clock(): Clock {
    return this.options.clock;
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
    const { sharedInfoGfn, store, consoleRing, startInfoGfn } = this.readBootInfo();
    // The builder's special frames are in use from the start (Linux reserves them in memblock).
    const special = [sharedInfoGfn, startInfoGfn, store.kind === 'ring' ? store.gfn : -1, consoleRing?.gfn ?? -1];
    this.pageAllocator = new PageAllocator(KERNEL_IMAGE_FRAMES, o.pages, special);
    this.hc.mapSharedInfo(sharedInfoGfn);
    this.log.print(`xen: shared_info page mapped at gfn 0x${sharedInfoGfn.toString(16)}`);
    this.gnttab = new GuestGrantTable(hypercallGrantFrames(this.hc), 1, this.options.clock);
    this.maskAllPorts();
    this.setUpVcpuInfo();
    const mode = this.callbackMode();
    this.makeInterrupts(mode);
    this.installCallback(mode);
    this.installTriggerHandlers();
    if (consoleRing !== null) this.intr.expectPort(consoleRing.port, 'xc0');
    if (store.kind === 'ring') this.intr.expectPort(store.port, 'xenstore0');
    for (let v = 0; v < o.vcpus; v++) if (this.hc.vcpuOnline(v)) this.cpuUp(v, false);
    this.log.print(`xen: clock interrupt at ${this.timer.hz} Hz on each vCPU (${mode === 'pci-intx' ? 'emulated LAPIC timer' : 'Xen PV timer, VIRQ_TIMER'})${this.ipis.enabled ? ', PV IPIs' : ''}`);
    if (this.initialDomain) this.bindDom0Virqs();
    this.connectRings(store, consoleRing);
    // Linux replays its log buffer to a console as it registers: hvc0 shows the boot from the start.
    for (const line of this.log.lines) this.console?.writeLine(line);
    if (consoleRing !== null) this.log.print(`hvc0: console ring at gfn 0x${consoleRing.gfn.toString(16)}, event channel ${consoleRing.port}`);
    this.log.print(store.kind === 'ring' ? `xenstore: ring at gfn 0x${store.gfn.toString(16)}, event channel ${store.port}` : 'xenstore: local connection (xenstored runs in this domain)');
    const home = await this.xs.getDomainPath(o.domid);
    this.log.print(`xenbus: connected; home ${home}`);
    await this.startDrivers();
    this.startSyntheticSources();
    this.state = 'running';
    this.log.print('Freeing unused kernel memory; reached the idle loop');
    this.shell.start();
  }

  /** The interrupt layer and the objects on it: the clock interrupt, the IPIs, the event channel device. */
  private makeInterrupts(mode: CallbackMode): void {
    const o = this.options;
    const hz = o.xenemu?.hz ?? DEFAULT_HZ;
    this.intr = new XenIntr({
      hc: this.hc,
      clock: o.clock,
      nrVcpus: o.vcpus,
      mode,
      hz,
      ...(o.cost ? { cost: o.cost } : {}),
      onHandlerError: (src, err) => this.log.print(`irq${src.irq}: ${src.name}: handler failed: ${(err as Error).message ?? String(err)}`),
    });
    this.timer = new XenTimer(this.intr, this.hc, o.clock, hz);
    this.ipis = new XenIpis(this.intr);
    this.evtchn = new EvtchnUser(this.intr, true, o.domid);
    this.hc.beforeVcpuDown = (v) => this.cpuDown(v);
  }

  /** hvc0 on the console ring, and the XenStore client on its ring (or dom0's local connection). */
  private connectRings(store: BootRings['store'], consoleRing: BootRings['consoleRing']): void {
    if (consoleRing !== null) this.console = new HvcConsole(this.hc.platform.page(consoleRing.gfn), consoleRing.port, this.hc, this.intr, (b) => this.shell.input(b));
    const transport = store.kind === 'ring' ? xenstoreRingTransport(this.hc.platform.page(store.gfn), store.port, this.hc, this.intr) : store.transport;
    this.xs = new XsClient(transport);
  }

  /**
   * How this kernel takes its event upcall. PV: the direct upcall, always. HVM: the
   * callback vector, unless the config asks for the platform PCI device's INTx (as
   * Linux's xen_no_vector_callback, or a Xen without XENFEAT_hvm_callback_vector,
   * makes a guest do). PVH has no emulated PCI bus, so it always uses the vector.
   */
  private callbackMode(): CallbackMode {
    const o = this.options;
    if (o.type === 'pv') return 'pv';
    const want = o.xenemu?.callback ?? 'vector';
    if (want === 'pci-intx' && o.type === 'pvh') {
      this.log.print('xen: PVH has no emulated PCI bus for the platform device; using the callback vector');
      return 'vector';
    }
    return want;
  }

  /**
   * Install the upcall handler, and for HVM tell Xen how to deliver it
   * (xen_hvm_set_callback: HVM_PARAM_CALLBACK_IRQ = HVM_CALLBACK_VECTOR(IDT_EVTCHN),
   * or HVM_CALLBACK_PCI_INTX(slot, pin) of xen-platform-pci).
   */
  private installCallback(mode: CallbackMode): void {
    this.hc.setUpcallHandler((v) => this.intr.handleUpcall(v));
    const shift = BigInt(HVM_PARAM_CALLBACK_TYPE_SHIFT);
    let how: string;
    if (mode === 'vector') {
      this.hc.setHvmParam(HVM_PARAM.CALLBACK_IRQ, (BigInt(HVM_PARAM_CALLBACK_TYPE.VECTOR) << shift) | BigInt(IDT_EVTCHN));
      how = `HVM callback vector 0x${IDT_EVTCHN.toString(16)}, per-vCPU`;
    } else if (mode === 'pci-intx') {
      this.hc.setHvmParam(HVM_PARAM.CALLBACK_IRQ, (BigInt(HVM_PARAM_CALLBACK_TYPE.PCI_INTX) << shift) | BigInt((PLATFORM_PCI_SLOT << 11) | PLATFORM_PCI_PIN));
      how = `xen-platform-pci 00:0${PLATFORM_PCI_SLOT}.0 INTA# through the I/O APIC, all events on vCPU 0`;
    } else {
      how = 'PV upcall, per-vCPU';
    }
    this.log.print(`xen:events: using 2-level event channels (${EVTCHN_2L_NR_CHANNELS} ports), ${how}`);
  }

  /**
   * A vCPU came up (at boot, or through vCPU hotplug): its clock interrupt, its IPIs
   * and its VIRQ_DEBUG, bound once; then a rendezvous IPI to the others, which is how
   * the other CPUs learn the set of online CPUs changed.
   */
  private cpuUp(vcpu: number, announce = true): void {
    try {
      this.timer.start(vcpu);
      if (!this.cpuReady[vcpu]) {
        this.cpuReady[vcpu] = true;
        if (this.intr.percpuEvtchn || vcpu === 0) {
          this.intr.bindVirq(`cpu${vcpu}:debug`, VIRQ.DEBUG, vcpu, this.debugHandlers);
        }
        this.ipis.initCpu(vcpu);
      }
    } catch (err) {
      this.log.print(`xen: vCPU ${vcpu}: cannot set up its interrupts: ${(err as Error).message}`);
    }
    if (announce) this.ipis.send('r', 'others', vcpu);
  }

  /** VIRQ_DEBUG ('xl debug-keys q'): say what the vCPU's upcall state is. */
  private readonly debugHandlers: IntrHandlers = {
    filter: (src, v) => {
      const info = this.hc.evtchn.vcpuInfo(v);
      this.log.print(`xen: VIRQ_DEBUG on vCPU ${v}: upcall_pending ${info?.evtchnUpcallPending ?? '-'}, port ${src.port}`);
      return 'handled';
    },
  };

  /** A vCPU is going down: move its interrupts away and stop its clock (before VCPUOP_down). */
  private cpuDown(vcpu: number): void {
    this.intr.cpuOffline(vcpu);
    this.timer.stop(vcpu);
    this.ipis.send('r', 'others', vcpu);
  }

  /**
   * dom0's global VIRQs: VIRQ_DOM_EXC (xenstored learns of domain deaths) and
   * VIRQ_CON_RING (xenconsoled reads Xen's console ring) through the event channel
   * device as those daemons bind them, and VIRQ_CONSOLE for dom0's own console
   * driver (xc0).
   */
  private bindDom0Virqs(): void {
    try {
      this.evtchn.bindVirq(VIRQ.DOM_EXC);
      this.evtchn.bindVirq(VIRQ.CON_RING);
      this.intr.bindVirq('xc0', VIRQ.CONSOLE, 0, CONSOLE_VIRQ_HANDLERS);
    } catch (err) {
      this.log.print(`xen: cannot bind dom0's VIRQs: ${(err as Error).message}`);
    }
  }

  /** The config's synthetic event sources (xenemu.events). */
  private startSyntheticSources(): void {
    const events = this.options.xenemu?.events ?? [];
    if (events.length === 0) return;
    this.synthetic = new SyntheticSources(this.intr, this.hc, this.log);
    for (const e of events) {
      try {
        this.synthetic.attach(e);
      } catch (err) {
        this.log.print(`${e.name}: cannot attach the synthetic event source: ${(err as Error).message}`);
      }
    }
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

  private readBootInfo(print = true): BootRings & {
    sharedInfoGfn: number;
    /** PV only; -1 otherwise. */
    startInfoGfn: number;
  } {
    const b = this.options.boot;
    if (b.kind === 'dom0') return { sharedInfoGfn: b.sharedInfoGfn, startInfoGfn: -1, store: { kind: 'local', transport: b.xenstore }, consoleRing: null };
    if (b.kind === 'pv') {
      const si = new StartInfoView(this.hc.platform.page(b.startInfoGfn));
      if (!si.magic.startsWith('xen-3.0-x86_64')) throw new Error(`bad start_info magic "${si.magic}"`);
      if (print) this.log.print(`xen: start_info at gfn 0x${b.startInfoGfn.toString(16)} (${si.magic}), ${si.nrPages} pages, cmdline "${si.cmdLine}"`);
      return {
        sharedInfoGfn: Number(si.sharedInfo >> 12n),
        startInfoGfn: b.startInfoGfn,
        store: { kind: 'ring', gfn: Number(si.storeMfn), port: si.storeEvtchn },
        consoleRing: { gfn: Number(si.consoleMfn), port: si.consoleEvtchn },
      };
    }
    const param = (index: number) => Number(this.hc.hvmParam(index));
    return {
      sharedInfoGfn: b.sharedInfoGfn,
      startInfoGfn: -1,
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
      if (slot === 0) gfn = this.pageAllocator.alloc();
      this.hc.registerVcpuInfo(v, gfn, slot * 64);
    }
    this.log.print(`xen: registered vcpu_info for vCPUs ${LEGACY_MAX_VCPUS}-${n - 1} in own pages`);
  }

  /**
   * xenstore's children, then the two busses, as FreeBSD's xenstore attaches them. The
   * busses start empty of drivers; the device drivers (blkfront, netback, ...) register
   * on them.
   */
  private async startDrivers(saved: KernelState | null = null): Promise<void> {
    this.xenstoreChildren = new XenstoreChildren(this.xs, this.log);
    await this.xenstoreChildren.add(new ControlDriver(this.log, (reason) => void this.shutdown(reason), (key) => handleSysrq(key, this.sysrqKernel()), this.initialDomain, this.options.faults ?? null));
    const floor = minimumTargetPages(this.options.pages);
    this.balloon = new BalloonDriver(this.hc, this.log, () => this.hc.currentPages(), this.pageAllocator, this.options.pages, floor);
    if (saved !== null) this.balloon.load(saved.balloon);
    await this.xenstoreChildren.add(this.balloon);
    await this.xenstoreChildren.add(new CpuHotplug(this.hc, this.log, (v) => this.hc.vcpuOnline(v), (v) => this.cpuUp(v)));
    this.xenbusFront = new XenbusBus(FRONT, this.xs, this.log);
    this.xenbusBack = new XenbusBus(BACK, this.xs, this.log);
    // Each disk's queue may hold up to an eighth of the domain's memory as I/O buffers.
    const pages = { alloc: () => this.pageAllocator.alloc(), free: (gfn: number) => this.pageAllocator.freePage(gfn), page: (gfn: number) => this.page(gfn), stored: (gfn: number) => this.stored(gfn) };
    this.blocks = new BlockLayer(pages, this.clock, Math.floor(this.options.pages / 8));
    this.blkfront = new Blkfront(this, this.blocks);
    this.blkback = new Blkback(this);
    this.xenbusFront.register(this.blkfront);
    this.xenbusBack.register(this.blkback);
    this.netfront = new Netfront(this);
    this.netback = new Netback(this);
    this.net = new GuestNet(this.netfront, this.clock, this.shell);
    this.netback.onVif = this.options.onVif ?? null;
    this.xenbusFront.register(this.netfront);
    this.xenbusBack.register(this.netback);
    if (saved === null) {
      await this.xenbusFront.start();
      await this.xenbusBack.start();
    } else {
      await this.xenbusFront.load(saved.xenbusFront);
      await this.xenbusBack.load(saved.xenbusBack);
    }
  }

  /** Everything the kernel keeps in its own memory (see saved.ts); guest pages are not copied. */
  save(): KernelState {
    if (this.state !== 'running' && this.state !== 'halted' && this.state !== 'suspended') throw new Error(`${this.name}: a kernel that is ${this.state} cannot be saved`);
    const cpusReady: number[] = [];
    this.cpuReady.forEach((ready, v) => ready && cpusReady.push(v));
    return {
      state: this.state,
      xenLeaf: this.xenLeaf,
      cpusReady,
      log: this.log.save(),
      pages: this.pageAllocator.save(),
      gnttab: this.gnttab.save(),
      intr: this.intr.save(),
      timer: this.timer.save(),
      ipis: this.ipis.save(),
      evtchn: this.evtchn.save(),
      synthetic: this.synthetic?.save() ?? null,
      console: this.console?.save() ?? null,
      balloon: this.balloon.save(),
      xenbusFront: this.xenbusFront.save(),
      xenbusBack: this.xenbusBack.save(),
      ...(this.state === 'suspended' ? { connections: this.heldByFrontends() } : {}),
    };
  }

  /** What the frontends' connections hold (see KernelState.connections). */
  private heldByFrontends(): { frames: number[]; grantRefs: number[] } {
    const parts = [this.blkfront.held(), this.netfront.held()];
    return { frames: [...new Set(parts.flatMap((p) => p.frames))], grantRefs: [...new Set(parts.flatMap((p) => p.grantRefs))] };
  }

  /**
   * Resumed in a new domain: the old connections' grants end (nobody maps them now:
   * their backends were the old domain's) and their frames go back to the allocator.
   */
  private releaseOldConnections(held: { frames: number[]; grantRefs: number[] }): void {
    this.gnttab.endForeignAccessReferences(held.grantRefs);
    for (const gfn of held.frames) this.pageAllocator.freePage(gfn);
    if (held.frames.length > 0) this.log.print(`xen:manage: released ${held.frames.length} frames and ${held.grantRefs.length} grants of the connections the old domain had`);
  }

  /**
   * Take a save in place of boot(), into a kernel built with the same options, on a
   * domain whose memory and hypervisor state are the saved kernel's. Every object is
   * loaded, every interrupt source gets its handlers back from its owner, the upcall
   * is installed again (its code is the kernel's); the XenStore connection drops the
   * watches it had (XS_RESET_WATCHES, as Linux's xenbus does on connecting) and the
   * drivers and busses watch again. Xen is asked nothing else: its state is its own.
   * Not a resume: ports are not rebound and devices do not reconnect (see restore()).
   */
  async load(s: KernelState): Promise<void> {
    await this.loadObjects(s, false);
  }

  /**
   * A suspended kernel's save, taken into a new domain (a restore, a migration, a host
   * that came back): its memory is the saved one, Xen's state is new. Its
   * SCHEDOP_shutdown(SHUTDOWN_suspend) returns 0 here, and the kernel does what
   * Linux's do_suspend and FreeBSD's xctrl_suspend do after it: the interrupt layer
   * forgets every port and binds the VIRQs and IPIs again on the vCPUs they were on
   * (xen_intr_resume), hvc0 and XenStore reconnect on the ports the toolstack put in
   * start_info (or the HVM params), every watch is registered again, and each device
   * reconnects through its driver with the backend its node names now (xenbusb_resume).
   */
  async restore(s: KernelState): Promise<void> {
    if (s.state !== 'suspended') throw new Error(`${this.name}: only a suspended kernel resumes in a new domain; this save is of a ${s.state} one`);
    await this.loadObjects(s, true);
    this.log.print('PM: restore of devices complete');
    this.log.print(`xen:manage: resumed in domain ${this.domid}`);
  }

  private async loadObjects(s: KernelState, resume: boolean): Promise<void> {
    if (this.state !== 'created') throw new Error(`${this.name}: a saved kernel loads only into one not booted`);
    this.state = 'booting';
    this.log.load(s.log);
    this.xenLeaf = s.xenLeaf;
    const { store, consoleRing } = this.readBootInfo(false);
    this.pageAllocator = new PageAllocator(0, 0, []);
    this.pageAllocator.load(s.pages);
    this.gnttab = new GuestGrantTable(hypercallGrantFrames(this.hc), 1, this.options.clock);
    this.gnttab.load(s.gnttab);
    this.makeInterrupts(s.intr.mode);
    this.intr.load(s.intr);
    if (resume) {
      this.log.print(`xen:manage: SCHEDOP_shutdown(SHUTDOWN_suspend) returned 0: resuming in a new domain (${this.domid})`);
      const n = this.intr.resume();
      this.log.print(`xen:events: forgot every port; rebound ${n.virqs} VIRQs and ${n.ipis} IPIs on the vCPUs they were on; ${n.forgotten} device ports wait for their drivers`);
    }
    this.timer.load(s.timer);
    this.ipis.load(s.ipis);
    // The event channel device's ports were the old domain's: a resume closes them (their users see the device reset).
    this.evtchn.load(resume ? { ...s.evtchn, ports: [] } : s.evtchn);
    for (const v of s.cpusReady) this.cpuReady[v] = true;
    // The VIRQs the kernel bound itself (the device's and the timer's are back already).
    for (const src of this.intr.awaitingHandlers()) {
      if (src.type !== 'virq') continue;
      if (src.virq === VIRQ.DEBUG) this.intr.restoreHandlers(src.irq, this.debugHandlers);
      else if (src.virq === VIRQ.CONSOLE) this.intr.restoreHandlers(src.irq, CONSOLE_VIRQ_HANDLERS);
    }
    this.hc.setUpcallHandler((v) => this.intr.handleUpcall(v));
    this.installTriggerHandlers();
    if (resume) {
      if (consoleRing !== null) this.intr.expectPort(consoleRing.port, 'xc0');
      if (store.kind === 'ring') {
        this.intr.expectPort(store.port, 'xenstore0');
        // Replies and events still in the ring were for the connection the old domain had.
        const stale = new XenstoreRingGuest(this.page(store.gfn)).read().length;
        this.log.print(`xenbus: resuming: xenstore ring at gfn 0x${store.gfn.toString(16)}, event channel ${store.port}${stale > 0 ? `; dropped ${stale} bytes meant for the old connection` : ''}`);
      }
    }
    this.connectRings(store, consoleRing);
    if (s.console !== null) this.console?.load(s.console);
    await this.xs.request(XsType.RESET_WATCHES, '');
    await this.startDrivers(s);
    if (s.synthetic !== null) {
      this.synthetic = new SyntheticSources(this.intr, this.hc, this.log);
      // An emulated device is the old domain's hardware: a resume finds a new one of each, on a new port.
      if (resume) for (const src of s.synthetic.sources) this.synthetic.attach(src.spec);
      else this.synthetic.load(s.synthetic);
    }
    const left = this.intr.awaitingHandlers();
    if (left.length > 0) throw new Error(`${this.name}: interrupt sources nobody took back after the load: ${left.map((src) => `irq${src.irq} (${src.name})`).join(', ')}`);
    this.state = resume ? 'running' : s.state;
    if (resume) {
      if (s.connections !== undefined) this.releaseOldConnections(s.connections);
      await this.resumeDevices();
    }
    // The shell takes input again, without a prompt: the console's ring came back as it was.
    if (this.state === 'running') this.shell.start(false);
  }

  /** A shutdown the toolstack asked for: a suspend quiesces the devices first, as Linux's do_suspend does. */
  private async shutdown(reason: ShutdownReason): Promise<void> {
    if (reason === 'suspend') {
      await this.suspend();
      return;
    }
    this.halt(reason);
  }

  /**
   * do_suspend: quiesce the devices, then SCHEDOP_shutdown(SHUTDOWN_suspend). The
   * kernel waits in that hypercall: it returns 1 in the same domain when the suspend
   * was cancelled (resume()), or 0 in a new one (restore()). Interrupts are not
   * stopped: Xen delivers none while the domain is shut down, and those that came
   * meanwhile are pending when it runs again.
   */
  private async suspend(): Promise<void> {
    if (this.freezing) {
      this.log.print('xen:manage: a suspend is already under way');
      return;
    }
    this.freezing = true;
    try {
      // The host's checkpoint is not the guest's business: its suspend simply starts after it.
      await this.checkpointing;
      this.log.print('PM: freezing devices');
      await this.suspendDevices(GUEST_SUSPEND);
    } catch (err) {
      this.log.print(`xen:manage: do_suspend: freeze of devices failed: ${(err as Error).message}`);
      return;
    } finally {
      this.freezing = false;
    }
    this.log.print('PM: freeze of devices complete');
    this.log.print('xen:manage: suspending xenstore...');
    this.state = 'suspended';
    this.hc.shutdown('suspend');
  }

  /**
   * A checkpoint the guest does not see (the host's periodic images, see
   * DomainImages): its devices quiesce as for a suspend (blkfront drains its ring, new
   * requests wait), but nothing is logged, no control node is involved and the kernel
   * makes no SCHEDOP_shutdown. `capture` gets the kernel's save as a suspended
   * kernel's, with its connections: exactly what a suspend at this instant would have
   * saved, which restore() takes in a new domain. It runs while the devices are
   * quiesced and the domain still runs, so its caller pauses the domain first thing
   * (in the same turn as this save, so the two agree). Then the devices thaw, quietly.
   * `paused`: the domain already is, and no interrupt can come to drain with, so a
   * driver with work in flight refuses instead of waiting. Refused, changing nothing,
   * when the kernel is not running, is suspending or is in another checkpoint.
   */
  async checkpoint<T>(capture: (saved: KernelState) => Promise<T>, options: { paused: boolean }): Promise<T> {
    if (this.state !== 'running' || this.freezing || this.checkpointing !== null) {
      throw new Error(`${this.name}: cannot be checkpointed now (it is ${this.freezing ? 'suspending' : this.checkpointing !== null ? 'in a checkpoint' : this.state})`);
    }
    const how: Freeze = { quiet: true, paused: options.paused };
    const run = async (): Promise<T> => {
      await this.suspendDevices(how);
      try {
        // A halt or a crash while the devices drained: there is no running kernel to capture.
        if (this.state !== 'running') throw new Error(`${this.name}: it ${this.state === 'halted' ? 'halted' : 'changed state'} during the checkpoint`);
        return await capture({ ...this.save(), state: 'suspended', connections: this.heldByFrontends() });
      } finally {
        await this.thawDevices(how);
      }
    };
    const done = run();
    this.checkpointing = done.then(
      () => {},
      () => {},
    );
    try {
      return await done;
    } finally {
      this.checkpointing = null;
    }
  }

  /**
   * SCHEDOP_shutdown(SHUTDOWN_suspend) returned 1 in the same domain: the suspend was
   * cancelled (a checkpoint, `save -c`, a save that failed), which is xc_domain_resume's
   * cooperative resume. Xen kept everything (ports, grants, rings), so, as Linux does
   * for si.cancelled, nothing is rebound and no device reconnects: the devices thaw
   * and go on where they were; what their backends answered meanwhile is pending.
   */
  async resume(): Promise<void> {
    if (this.state !== 'suspended') throw new Error(`${this.name}: the kernel is ${this.state}, not suspended`);
    this.log.print('xen:manage: SCHEDOP_shutdown(SHUTDOWN_suspend) returned 1: suspend cancelled, resuming in the same domain');
    this.state = 'running';
    await this.thawDevices(GUEST_SUSPEND);
    this.log.print('PM: thaw of devices complete');
  }

  /** Whose children are suspended, resumed and thawed, in that order: the frontends, the backends, then xenstore's children. */
  private get deviceParents(): XenbusParent[] {
    return [this.xenbusFront, this.xenbusBack, this.xenstoreChildren];
  }

  /** Suspend every device (deviceParents' order). */
  private async suspendDevices(how: Freeze): Promise<void> {
    const parents = this.deviceParents;
    for (const [i, p] of parents.entries()) {
      try {
        await p.suspend(how);
      } catch (err) {
        // Those already frozen go on with the connections they have.
        for (const q of parents.slice(0, i).reverse()) await q.thaw(how);
        throw err;
      }
    }
  }

  /** Resume every device, in the order they were suspended: each reconnects (xenbusb_resume). */
  async resumeDevices(): Promise<void> {
    for (const p of this.deviceParents) await p.resume();
  }

  /** A cancelled suspend: every device goes on with the connection it had. */
  private async thawDevices(how: Freeze): Promise<void> {
    for (const p of this.deviceParents) await p.thaw(how);
  }

  /** Stop the kernel and tell Xen why (SCHEDOP_shutdown). */
  halt(reason: Exclude<ShutdownReason, 'suspend'>): void {
    this.log.print(`reboot: ${reason === 'reboot' ? 'Restarting system' : 'Power down'}`);
    this.stopAndShutdown(reason);
  }

  /** panic(): its last lines, then Xen's panic notifier (xen_panic_event) shuts the domain down as crashed. */
  panic(message: string): void {
    if (this.state === 'halted') return;
    this.log.print(`Kernel panic - not syncing: ${message}`);
    this.log.print(`---[ end Kernel panic - not syncing: ${message} ]---`);
    this.stopAndShutdown('crash');
  }

  /** The end of the kernel (a suspend is not one: see suspend()). */
  private stopAndShutdown(reason: Exclude<ShutdownReason, 'suspend'>): void {
    this.state = 'halted';
    this.stopInterrupts();
    this.hc.shutdown(reason);
  }

  /** The NMI callback and, for HVM, the ACPI SCI handler: what `xl trigger` reaches (control/triggers.ts). */
  private installTriggerHandlers(): void {
    const print = (m: string) => this.log.print(m);
    this.hc.registerNmiCallback((v) => {
      if (this.state === 'running') unknownNmi(v, this.options.cmdline ?? '', { print, panic: (m) => this.panic(m) });
    });
    if (this.options.type === 'hvm') {
      this.hc.platform.setAcpiSciHandler((button) => {
        if (this.state === 'running') acpiButton(button, { print, powerOff: () => void this.shutdown('poweroff') });
      });
    }
  }

  /** What the sysrq keys act on (control/sysrq.ts). */
  private sysrqKernel(): SysrqKernel {
    return {
      print: (m) => this.log.print(m),
      panic: (m) => this.panic(m),
      // machine_emergency_restart: xen_emergency_restart, straight to SHUTDOWN_reboot.
      emergencyRestart: () => this.stopAndShutdown('reboot'),
      powerOff: () => void this.shutdown('poweroff'),
      totalPages: () => this.hc.currentPages(),
      onlineCpus: () => [...Array(this.options.vcpus).keys()].filter((v) => this.hc.vcpuOnline(v)),
    };
  }

  /** The domain is going away: drop its connections. */
  stop(): void {
    this.state = 'halted';
    // Its console went with the domain: a driver still finishing its work (blkfront
    // logging a failed connect) logs to dmesg only, instead of notifying a port of a
    // domain that no longer exists, which would throw out of its error handler.
    this.console = null;
    this.blkfront?.stopAll();
    this.blkback?.stopAll();
    this.netback?.stopAll();
    this.xs?.close();
    this.stopInterrupts();
  }

  /** No more clock ticks, device events or interrupt threads. */
  private stopInterrupts(): void {
    this.synthetic?.detachAll();
    this.timer?.stopAll();
    this.intr?.stop();
  }
}
