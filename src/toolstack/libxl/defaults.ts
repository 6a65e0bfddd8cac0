/**
 * The libxl_domain_config that `xl list -l` would retrieve for a domain xenemu
 * created, built from what xenemu knows. Real xl gets it in three steps, each copied
 * here as far as it matters for PV, PVH and HVM guests with disks and vifs:
 *
 * 1. xl's parse_config_data() (tools/xl/xl_parse.c) fills what the xl.cfg says, plus
 *    xl.conf defaults: claim_mode, the on_* actions, max_grant_version. That step is
 *    from-config.ts, the one translation from a DomainConfig; `create -n` prints it.
 * 2. libxl__domain_config_setdefault() and friends (tools/libs/light/libxl_create.c,
 *    libxl_x86.c, libxl_disk.c, libxl_nic.c) fill defaults; the result is what libxl
 *    stores as the domain's libxl-json userdata.
 * 3. libxl_retrieve_domain_configuration() (libxl_domain.c) overwrites name, uuid,
 *    avail_vcpus, target_memkb/max_memkb and sched_params with live values.
 *
 * Places where the value depends on the real host rather than the config are marked
 * GUESS with the assumption made.
 */

import type {
  LibxlDeviceDisk,
  LibxlDeviceNic,
  LibxlDomainType,
  LibxlDomainBuildInfo,
  LibxlDomainConfig,
  LibxlDomainSchedParams,
  LibxlScheduler,
} from './idl.js';
import { domainQualifier } from './qualifier.js';

/** SECINITSID_DOMU: the 12th initial SID of xen/xsm/flask/policy/initial_sids. */
const SECINITSID_DOMU = 12;

/** The scheduler parameters libxl_domain_sched_params_get() reports (credit: weight and cap). */
export interface XlSchedParams {
  sched: LibxlScheduler;
  weight?: number;
  cap?: number;
}

/** What only the running domain knows: what libxl_retrieve_domain_configuration() overwrites. */
export interface LibxlLiveDomain {
  name: string;
  uuid: string;
  /** The vCPUs whose cpu/N/availability is "online". */
  onlineVcpus: readonly number[];
  /** /local/domain/N/memory/target, KiB (xl adds back the fudge: 0 for PV and PVH). */
  targetMemKb: number | bigint;
  /** Default: credit with weight 256 and cap 0, as a fresh domain under credit. */
  sched?: XlSchedParams;
}

export interface LibxlDefaultsOptions {
  /**
   * libxl_name_to_domid() for a device's backend_domname: the domid of the domain with
   * that name, undefined when there is none (all-digit names never get here: they are
   * ids). libxl resolves the name when it creates the device.
   */
  domidOfName: (name: string) => number | undefined;
  /** Host capabilities that steer libxl's defaults; defaults: HAP and grant v2 present. */
  host?: { capHap?: boolean; capGnttabV2?: boolean; capGnttabV1?: boolean };
  /**
   * GUESS: whether shadow_memkb is defaulted at create time (libxl does so when the
   * caller used the 4.13+ libxl_domain_need_memory, which xl does when it balloons
   * dom0). Default true: 4 * (256 * vcpus + pages for P2M/shadow).
   */
  defaultShadowMemkb?: boolean;
}

/**
 * libxl_domain_config for `xl list -l` of a guest xenemu created: `parsed` is what
 * xl's parser built from its config (libxlDomainConfigFromXl, the same object
 * `create -n` prints), filled with libxl's defaults and overwritten with `live`.
 */
export function xlGuestDomainConfig(parsed: LibxlDomainConfig, live: LibxlLiveDomain, options: LibxlDefaultsOptions): LibxlDomainConfig {
  const p = parsed.b_info ?? {};
  const type = parsed.c_info?.type ?? p.type;
  if (type !== 'pv' && type !== 'pvh' && type !== 'hvm') throw new RangeError(`libxl domain config of unknown type ${String(type)}`);
  const hapAvailable = options.host?.capHap ?? true;
  const pv = type === 'pv';
  const hap = !pv && hapAvailable;
  const maxVcpus = p.max_vcpus ?? 1;
  const maxMemKb = BigInt(p.max_memkb ?? 0);
  const b: Mutable<LibxlDomainBuildInfo> = {
    ...p,
    max_vcpus: maxVcpus,
    avail_vcpus: [...live.onlineVcpus],
    numa_placement: p.numa_placement ?? true,
    max_memkb: maxMemKb,
    target_memkb: BigInt(live.targetMemKb),
    video_memkb: type === 'hvm' ? 8 * 1024 : 0,
    shadow_memkb: options.defaultShadowMemkb === false ? 0 : requiredPagingMemoryKb(maxMemKb, maxVcpus, type, hap),
    iommu_memkb: 0,
    localtime: false,
    disable_migrate: false,
    blkdev_start: 'xvda',
    max_grant_version: (options.host?.capGnttabV2 ?? true) ? 2 : (options.host?.capGnttabV1 ?? true) ? 1 : 0,
    // GUESS: qemu-xen is installed, so libxl keeps QEMU_XEN (it falls back to
    // qemu-xen-traditional only when the binary is missing).
    device_model_version: 'qemu_xen',
    device_model_stubdomain: false,
    stubdomain_memkb: 0,
    sched_params: schedParams(live.sched),
    claim_mode: p.claim_mode ?? true,
    event_channels: p.event_channels ?? 1023,
    acpi: true,
    dm_restrict: false,
    type,
    arch_x86: { msr_relaxed: false },
    vpmu: false,
  };
  if (!pv) {
    b.timer_mode = 'no_delay_for_missed_ticks';
    b.nested_hvm = false;
    b.apic = true;
  }
  if (type === 'pv') b.u = { pv: { slack_memkb: 0, e820_host: false, ...p.u?.pv } };
  if (type === 'pvh') b.u = { pvh: { pvshim: false, ...p.u?.pvh } };
  if (type === 'hvm') b.u = { hvm: { ...hvmDefaults(), ...p.u?.hvm } };
  return {
    c_info: {
      hap: pv ? undefined : hap,
      oos: pv ? undefined : true,
      ssidref: SECINITSID_DOMU,
      run_hotplug_scripts: true,
      driver_domain: false,
      passthrough: 'disabled',
      xend_suspend_evtchn_compat: false,
      ...parsed.c_info,
      type,
      name: live.name,
      uuid: live.uuid,
    },
    b_info: b,
    disks: (parsed.disks ?? []).map((d) => diskDefaults(d, type, options)),
    nics: (parsed.nics ?? []).map((n) => nicDefaults(n, type, options)),
    // xl_parse.c: on_poweroff destroy, on_reboot restart, on_watchdog destroy,
    // on_crash destroy, on_soft_reset soft-reset unless the config says otherwise.
    on_poweroff: parsed.on_poweroff ?? 'destroy',
    on_reboot: parsed.on_reboot ?? 'restart',
    on_watchdog: parsed.on_watchdog ?? 'destroy',
    on_crash: parsed.on_crash ?? 'destroy',
    on_soft_reset: parsed.on_soft_reset ?? 'soft_reset',
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

/**
 * libxl__resolve_domid() (libxl_internal.c) of a device's backend_domname. A name
 * that names no domain makes libxl refuse the device; xenemu keeps the device and
 * leaves backend_domid unset (it resolves when asked, not at create time).
 */
function backendDomid(name: string | undefined, options: LibxlDefaultsOptions): number | undefined {
  if (name === undefined) return undefined;
  const q = domainQualifier(name);
  return 'domid' in q ? q.domid : options.domidOfName(q.name);
}

/** libxl__device_disk_setdefault() after xl's disk-spec parser. */
function diskDefaults(d: LibxlDeviceDisk, type: LibxlDomainType, options: LibxlDefaultsOptions): LibxlDeviceDisk {
  // libxl forces qdisk for a cdrom of a guest with a device model.
  // GUESS: libxl__device_disk_set_backend() picks "phy" for a block device or when a
  // script is given, and "qdisk" for an image file when QEMU is present. xenemu has
  // no such probe: "phy" unless the config says (backendtype=).
  const backend = d.is_cdrom && type === 'hvm' ? 'qdisk' : (d.backend ?? 'phy');
  return {
    ...d,
    backend_domid: backendDomid(d.backend_domname, options) ?? d.backend_domid,
    backend,
    format: d.format ?? 'raw',
    removable: d.removable ?? 0,
    readwrite: d.readwrite ?? 0,
    is_cdrom: d.is_cdrom ?? 0,
    discard_enable: d.discard_enable ?? d.readwrite === 1,
    colo_enable: false,
    colo_restore_enable: false,
    trusted: d.trusted ?? true,
    specification: d.specification ?? 'xen',
  };
}

/** libxl__device_nic_setdefault(). */
function nicDefaults(n: LibxlDeviceNic, type: LibxlDomainType, options: LibxlDefaultsOptions): LibxlDeviceNic {
  return {
    ...n,
    backend_domid: backendDomid(n.backend_domname, options) ?? n.backend_domid,
    mtu: n.mtu ?? 1500,
    model: n.model ?? 'rtl8139',
    bridge: n.bridge ?? 'xenbr0',
    script: n.script ?? '/etc/xen/scripts/vif-bridge',
    // A vif given at create time on HVM gets the emulated twin (vif_ioemu) unless the
    // config says type=vif; PV and PVH guests only have vif.
    nictype: type === 'hvm' ? (n.nictype ?? 'vif_ioemu') : 'vif',
    trusted: n.trusted ?? true,
  };
}
