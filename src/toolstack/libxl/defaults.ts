/**
 * The libxl_domain_config that `xl list -l` would retrieve for a domain xenemu
 * created, built from what xenemu knows. Real xl gets it in three steps, each copied
 * here as far as it matters for PV, PVH and HVM guests with disks and vifs:
 *
 * 1. xl's parse_config_data() (tools/xl/xl_parse.c) fills what the xl.cfg says, plus
 *    xl.conf defaults: claim_mode, the on_* actions, max_grant_version.
 * 2. libxl__domain_config_setdefault() and friends (tools/libs/light/libxl_create.c,
 *    libxl_x86.c, libxl_disk.c, libxl_nic.c) fill defaults; the result is what libxl
 *    stores as the domain's libxl-json userdata.
 * 3. libxl_retrieve_domain_configuration() (libxl_domain.c) overwrites name, uuid,
 *    avail_vcpus, target_memkb/max_memkb and sched_params with live values.
 *
 * Places where the value depends on the real host rather than the config are marked
 * GUESS with the assumption made; see also README-style notes in the final report.
 */

import type {
  LibxlActionOnShutdown,
  LibxlDeviceDisk,
  LibxlDeviceNic,
  LibxlDiskBackend,
  LibxlDiskFormat,
  LibxlDomainBuildInfo,
  LibxlDomainConfig,
  LibxlDomainSchedParams,
  LibxlScheduler,
} from './idl.js';

/** SECINITSID_DOMU: the 12th initial SID of xen/xsm/flask/policy/initial_sids. */
const SECINITSID_DOMU = 12;

/** The scheduler parameters libxl_domain_sched_params_get() reports (credit: weight and cap). */
export interface XlSchedParams {
  sched: LibxlScheduler;
  weight?: number;
  cap?: number;
}

export interface XlDiskSpec {
  pdev_path?: string;
  vdev: string;
  format?: LibxlDiskFormat;
  readwrite: boolean;
  is_cdrom?: boolean;
  /**
   * GUESS: libxl__device_disk_set_backend() picks "phy" for a block device or when a
   * script is given, and "qdisk" for an image file when QEMU is present. xenemu has
   * no such probe, so the caller says; the default is "phy".
   */
  backend?: LibxlDiskBackend;
  script?: string;
  backend_domid?: number;
}

export interface XlNicSpec {
  devid: number;
  mac: string;
  bridge?: string;
  ip?: string;
  script?: string;
  vifname?: string;
  model?: string;
  rate_bytes_per_interval?: number | bigint;
  rate_interval_usecs?: number;
  backend_domid?: number;
  mtu?: number;
}

/** What xenemu knows about a guest it created (config file plus live state). */
export interface XlGuestSpec {
  type: 'pv' | 'pvh' | 'hvm';
  name: string;
  uuid: string;
  maxVcpus: number;
  /** The vCPUs whose cpu/N/availability is "online". */
  onlineVcpus: readonly number[];
  /** /local/domain/N/memory/static-max, KiB. */
  maxMemKb: number | bigint;
  /** /local/domain/N/memory/target, KiB (xl adds back the fudge: 0 for PV and PVH). */
  targetMemKb: number | bigint;
  kernel?: string;
  ramdisk?: string;
  cmdline?: string;
  bootloader?: string;
  bootloaderArgs?: readonly string[];
  onPoweroff?: LibxlActionOnShutdown;
  onReboot?: LibxlActionOnShutdown;
  onWatchdog?: LibxlActionOnShutdown;
  onCrash?: LibxlActionOnShutdown;
  onSoftReset?: LibxlActionOnShutdown;
  /** Default: credit with weight 256 and cap 0, as a fresh domain under credit. */
  sched?: XlSchedParams;
  disks?: readonly XlDiskSpec[];
  nics?: readonly XlNicSpec[];
  /** xl.conf claim_mode (default on). */
  claimMode?: boolean;
  /** max_event_channels (default 1023, libxl's). */
  eventChannels?: number;
  /** Host capabilities that steer libxl's defaults; defaults: HAP and grant v2 present. */
  host?: { capHap?: boolean; capGnttabV2?: boolean; capGnttabV1?: boolean };
  /**
   * GUESS: whether shadow_memkb is defaulted at create time (libxl does so when the
   * caller used the 4.13+ libxl_domain_need_memory, which xl does when it balloons
   * dom0). Default true: 4 * (256 * vcpus + pages for P2M/shadow).
   */
  defaultShadowMemkb?: boolean;
}

/** libxl_domain_config for `xl list -l` of a guest xenemu created. */
export function xlGuestDomainConfig(spec: XlGuestSpec): LibxlDomainConfig {
  const hapAvailable = spec.host?.capHap ?? true;
  const pv = spec.type === 'pv';
  const hap = !pv && hapAvailable;
  const maxMemKb = BigInt(spec.maxMemKb);
  const b: Mutable<LibxlDomainBuildInfo> = {
    max_vcpus: spec.maxVcpus,
    avail_vcpus: [...spec.onlineVcpus],
    numa_placement: true,
    max_memkb: maxMemKb,
    target_memkb: BigInt(spec.targetMemKb),
    video_memkb: spec.type === 'hvm' ? 8 * 1024 : 0,
    shadow_memkb: spec.defaultShadowMemkb === false ? 0 : requiredPagingMemoryKb(maxMemKb, spec.maxVcpus, spec.type, hap),
    iommu_memkb: 0,
    localtime: false,
    disable_migrate: false,
    blkdev_start: 'xvda',
    max_grant_version: (spec.host?.capGnttabV2 ?? true) ? 2 : (spec.host?.capGnttabV1 ?? true) ? 1 : 0,
    // GUESS: qemu-xen is installed, so libxl keeps QEMU_XEN (it falls back to
    // qemu-xen-traditional only when the binary is missing).
    device_model_version: 'qemu_xen',
    device_model_stubdomain: false,
    stubdomain_memkb: 0,
    sched_params: schedParams(spec.sched),
    claim_mode: spec.claimMode ?? true,
    event_channels: spec.eventChannels ?? 1023,
    kernel: spec.kernel,
    cmdline: spec.cmdline,
    ramdisk: spec.ramdisk,
    acpi: true,
    bootloader: spec.bootloader,
    bootloader_args: spec.bootloaderArgs,
    dm_restrict: false,
    type: spec.type,
    arch_x86: { msr_relaxed: false },
    vpmu: false,
  };
  if (!pv) {
    b.timer_mode = 'no_delay_for_missed_ticks';
    b.nested_hvm = false;
    b.apic = true;
  }
  if (spec.type === 'pv') b.u = { pv: { slack_memkb: 0, e820_host: false } };
  if (spec.type === 'pvh') b.u = { pvh: { pvshim: false } };
  if (spec.type === 'hvm') b.u = { hvm: hvmDefaults() };
  return {
    c_info: {
      type: spec.type,
      hap: pv ? undefined : hap,
      oos: pv ? undefined : true,
      ssidref: SECINITSID_DOMU,
      name: spec.name,
      uuid: spec.uuid,
      run_hotplug_scripts: true,
      driver_domain: false,
      passthrough: 'disabled',
      xend_suspend_evtchn_compat: false,
    },
    b_info: b,
    disks: (spec.disks ?? []).map((d) => diskDefaults(d, spec.type)),
    nics: (spec.nics ?? []).map((n) => nicDefaults(n, spec.type)),
    // xl_parse.c: on_poweroff destroy, on_reboot restart, on_watchdog destroy,
    // on_crash destroy, on_soft_reset soft-reset unless the config says otherwise.
    on_poweroff: spec.onPoweroff ?? 'destroy',
    on_reboot: spec.onReboot ?? 'restart',
    on_watchdog: spec.onWatchdog ?? 'destroy',
    on_crash: spec.onCrash ?? 'destroy',
    on_soft_reset: spec.onSoftReset ?? 'soft_reset',
  };
}

export interface XlDom0Spec {
  name?: string;
  uuid: string;
  targetMemKb: number | bigint;
  maxMemKb: number | bigint;
  sched?: XlSchedParams;
}

/**
 * Domain-0's entry. xen-init-dom0 stores a stub config (gen_stub_json_config in
 * tools/helpers/init-dom-json.c: type PV and the uuid, nothing else), so `xl list -l`
 * shows that stub plus what retrieval overwrites. max_vcpus stays 0 in the stub, so
 * the rebuilt avail_vcpus map is empty and not printed.
 */
export function xlDom0DomainConfig(spec: XlDom0Spec): LibxlDomainConfig {
  return {
    c_info: { type: 'pv', name: spec.name ?? 'Domain-0', uuid: spec.uuid },
    b_info: {
      max_memkb: BigInt(spec.maxMemKb),
      target_memkb: BigInt(spec.targetMemKb),
      sched_params: schedParams(spec.sched),
      type: 'pv',
      u: { pv: {} },
    },
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function schedParams(s: XlSchedParams | undefined): LibxlDomainSchedParams {
  const p = s ?? { sched: 'credit', weight: 256, cap: 0 };
  return { sched: p.sched, weight: p.weight, cap: p.cap };
}

/** libxl__get_required_paging_memory() (libxl_create.c), x86: no extra paging memory. */
export function requiredPagingMemoryKb(maxMemKb: bigint, vcpus: number, type: 'pv' | 'pvh' | 'hvm', hap: boolean): bigint {
  const perMiB = BigInt((type !== 'pv' ? 1 : 0) + (hap ? 0 : 1));
  return 4n * (256n * BigInt(vcpus) + perMiB * (maxMemKb / 1024n));
}

/** The HVM defaults of libxl__domain_build_info_setdefault() for qemu-xen, no stubdom. */
function hvmDefaults(): NonNullable<NonNullable<LibxlDomainBuildInfo['u']>['hvm']> {
  return {
    pae: true,
    apic: undefined,
    acpi: true,
    acpi_s3: true,
    acpi_s4: true,
    acpi_laptop_slate: false,
    nx: true,
    viridian: false,
    hpet: true,
    vpt_align: true,
    mmio_hole_memkb: 0,
    altp2m: false,
    bios: 'seabios',
    vga: { kind: 'cirrus' },
    vnc: { enable: true, listen: '127.0.0.1', findunused: true },
    sdl: { enable: false },
    spice: { enable: false },
    nographic: false,
    gfx_passthru: false,
    boot: 'cda',
    usb: false,
    vkb_device: true,
    xen_platform_pci: true,
    rdm: { policy: 'relaxed' },
    // LIBXL_RDM_MEM_BOUNDARY_MEMKB_DEFAULT: 2 GiB below 4 GiB.
    rdm_mem_boundary_memkb: 2048 * 1024,
  };
}

/** libxl__device_disk_setdefault() after xl's disk-spec parser. */
function diskDefaults(d: XlDiskSpec, type: XlGuestSpec['type']): LibxlDeviceDisk {
  const backend = d.is_cdrom && type === 'hvm' ? 'qdisk' : (d.backend ?? 'phy');
  return {
    backend_domid: d.backend_domid,
    pdev_path: d.pdev_path,
    vdev: d.vdev,
    backend,
    format: d.format ?? 'raw',
    script: d.script,
    // xl's parser sets removable for a cdrom (xlu_disk_parse: is_cdrom implies removable).
    removable: d.is_cdrom ? 1 : 0,
    readwrite: d.readwrite ? 1 : 0,
    is_cdrom: d.is_cdrom ? 1 : 0,
    discard_enable: d.readwrite,
    colo_enable: false,
    colo_restore_enable: false,
    trusted: true,
    specification: 'xen',
  };
}

/** libxl__device_nic_setdefault(). */
function nicDefaults(n: XlNicSpec, type: XlGuestSpec['type']): LibxlDeviceNic {
  return {
    backend_domid: n.backend_domid,
    devid: n.devid,
    mtu: n.mtu ?? 1500,
    model: n.model ?? 'rtl8139',
    mac: n.mac,
    ip: n.ip,
    bridge: n.bridge ?? 'xenbr0',
    ifname: n.vifname,
    script: n.script ?? '/etc/xen/scripts/vif-bridge',
    // A vif given at create time on HVM gets the emulated twin (vif_ioemu).
    nictype: type === 'hvm' ? 'vif_ioemu' : 'vif',
    rate_bytes_per_interval: n.rate_bytes_per_interval,
    rate_interval_usecs: n.rate_interval_usecs,
    trusted: true,
  };
}
