/**
 * What `xl create -n` prints: the libxl_domain_config that xl's parse_config_data()
 * (tools/xl/xl_parse.c, 4.17) builds from a config file, before libxl fills its
 * defaults (that later form is defaults.ts's, for `xl list -l`). create_domain()
 * (xl_vmcontrol.c) prints it with libxl_domain_config_to_json(): the bare config
 * object, no {"domid", "config"} wrapper.
 *
 * xenemu reads configs into a normalised DomainConfig (every default filled in), so a
 * key the file left out and a key set to its default look the same there; what the
 * file spelled out comes alongside (GivenKeys). The rule: a field appears when its
 * value differs from what xl leaves unset or the file spelled it out, plus the fields
 * xl always sets (name, type, uuid, run_hotplug_scripts and claim_mode from xl.conf's
 * defaults, on_reboot, on_soft_reset, each nic's devid). An xl.cfg nic's mac is printed
 * only when the config has one, as xl's: xenemu settles the mac when it reads the
 * config, and `list -l` shows it, as libxl's does once the create drew one. Checked
 * against the real xl 4.17 (test/cli-xl/real-xl.test.ts, and create.test.ts for the
 * sample configs); the keys xenemu does not emulate are set by not-emulated-keys.ts.
 * Differences that remain, by design:
 *
 * - A domain needs no kernel or bootloader here (xl refuses such a config: the
 *   emulated kernel boots anyway).
 * - What xl prints on stderr while it parses (tsc_mode notes, deprecations, a vif's
 *   "Invalid parameter `mac'.") is xenemu's warnings instead, at the value's place, and a
 *   value xl refuses is refused with xenemu's message.
 * - `vcpus = 0` with `maxvcpus = 0` prints max_vcpus 1 (xl: 0): the config keeps
 *   libxl's max_vcpus, which is 1 for both 0 and 1.
 */

import { randomUUID } from 'node:crypto';
import { expandCpuList, kernelCommandLine, parseVifRate, VIRIDIAN_ENLIGHTENMENTS, type DiskSpec, type DomainConfig, type GivenKeys, type VifSpec } from '../config/index.js';
import type { LibxlActionOnShutdown, LibxlDeviceDisk, LibxlDeviceNic, LibxlDomainBuildInfo, LibxlDomainConfig, LibxlDomainCreateInfo } from './idl.js';
import { applyNotEmulatedKeys, notEmulatedDevices } from './not-emulated-keys.js';

export interface DryRunOptions {
  /** libxl_get_max_cpus(): how many CPUs "all" in cpus=/cpus_soft= stands for. */
  hostCpus: number;
  /** xl generates a uuid when the config has none (tests pass a fixed one). */
  uuid?: () => string;
  /** What the config spelled out: xl prints only what it read (a config read from its file has them). */
  given?: GivenKeys;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** libxl_action_on_shutdown's names: xl.cfg's words with "_" (rename-restart is restart_rename). */
function action(a: DomainConfig['on_poweroff']): LibxlActionOnShutdown {
  return a === 'rename-restart' ? 'restart_rename' : (a.replace(/-/g, '_') as LibxlActionOnShutdown);
}

/** parse_config_data()'s libxl_domain_config for `config`. */
export function xlParsedDomainConfig(config: DomainConfig, options: DryRunOptions): LibxlDomainConfig {
  const c = config;
  // What an xl.cfg leaves out, xl leaves to libxl: no vcpus is max_vcpus 0 (unless
  // maxvcpus), no memory is no target, neither memory nor maxmem no maximum.
  const named = (key: string): boolean => options.given?.keys?.has(key) ?? true;
  // And what it names is set, to its default too.
  const spelled = (key: string): boolean => options.given?.keys?.has(key) ?? false;
  // vcpus = 0 alone leaves max_vcpus 0 (libxl makes it 1 later, which the config holds).
  const maxVcpus = named('maxvcpus') || (named('vcpus') && c.vcpus > 0) ? c.maxvcpus : 0;
  const affinity = (spec: string | string[] | undefined): number[][] | undefined => {
    if (spec === undefined) return undefined;
    // A string applies to every vCPU (max_vcpus of them); a list gives one per entry, up to max_vcpus.
    const specs = typeof spec === 'string' ? Array.from({ length: maxVcpus }, () => spec) : spec.slice(0, maxVcpus);
    return specs.length > 0 ? specs.map((s) => expandCpuList(s, options.hostCpus)) : undefined;
  };
  const b: Mutable<LibxlDomainBuildInfo> = {
    max_vcpus: maxVcpus,
    ...(named('vcpus') && c.vcpus > 0 ? { avail_vcpus: Array.from({ length: c.vcpus }, (_, i) => i) } : {}),
    ...(named('maxmem') || named('memory') ? { max_memkb: c.maxmem * 1024 } : {}),
    ...(named('memory') ? { target_memkb: c.memory * 1024 } : {}),
    sched_params: {
      ...(c.cpu_weight !== 256 || spelled('cpu_weight') ? { weight: c.cpu_weight } : {}),
      ...(c.cap !== 0 || spelled('cap') ? { cap: c.cap } : {}),
    },
    // xl.conf's claim_mode defaults to 1, and xl sets it on every domain.
    claim_mode: true,
    type: c.type,
    u: { [c.type]: c.type === 'hvm' ? viridian(c.viridian, spelled('viridian')) : {} },
  };
  const hard = affinity(c.cpus);
  const soft = affinity(c.cpus_soft);
  if (hard) b.vcpu_hard_affinity = hard;
  if (soft) b.vcpu_soft_affinity = soft;
  // A soft affinity, or a hard one given per vCPU, turns libxl's automatic NUMA placement off (parse_vcpu_affinity).
  if (c.cpus_soft !== undefined || Array.isArray(c.cpus)) b.numa_placement = false;
  if (c.max_grant_frames !== 64 || spelled('max_grant_frames')) b.max_grant_frames = c.max_grant_frames;
  if (c.max_maptrack_frames !== 1024 || spelled('max_maptrack_frames')) b.max_maptrack_frames = c.max_maptrack_frames;
  if (c.max_event_channels !== 1023 || spelled('max_event_channels')) b.event_channels = c.max_event_channels;
  if (c.kernel !== undefined) b.kernel = c.kernel;
  const cmdline = kernelCommandLine(c);
  if (cmdline !== undefined) b.cmdline = cmdline;
  if (c.ramdisk !== undefined) b.ramdisk = c.ramdisk;
  if (c.bootloader !== undefined) b.bootloader = c.bootloader;
  if (c.bootloader_args !== undefined) b.bootloader_args = c.bootloader_args;

  const cInfo: Mutable<LibxlDomainCreateInfo> = {
    type: c.type,
    name: c.name,
    uuid: c.uuid ?? (options.uuid ?? randomUUID)(),
    // xl.conf's run_hotplug_scripts defaults to 1.
    run_hotplug_scripts: true,
    ...(c.driver_domain || spelled('driver_domain') ? { driver_domain: c.driver_domain } : {}),
  };
  if (options.given?.notEmulated !== undefined) applyNotEmulatedKeys(options.given.notEmulated, cInfo, b);
  const out: Mutable<LibxlDomainConfig> = { c_info: cInfo, b_info: b };
  if (c.disk.length > 0) out.disks = c.disk.map((d, i) => xlParsedDisk(d, options.given?.disk[i]));
  // Not from an xl.cfg (YAML, whose xl.cfg conversion writes out the mac it derives; a restore's override): the mac is shown.
  if (c.vif.length > 0) out.nics = c.vif.map((v, i) => nic(v, c.type, options.given?.keys === undefined ? MAC_SHOWN : (options.given.vif[i] ?? NONE)));
  if (options.given?.notEmulated !== undefined) Object.assign(out, notEmulatedDevices(options.given.notEmulated, c.type));
  // xl sets every on_* from the config or its own default; the printer leaves out
  // destroy, libxl's initial value.
  out.on_poweroff = action(c.on_poweroff);
  out.on_reboot = action(c.on_reboot);
  out.on_watchdog = action(c.on_watchdog);
  out.on_crash = action(c.on_crash);
  out.on_soft_reset = action(c.on_soft_reset);
  return out;
}

const NONE: ReadonlySet<string> = new Set();
/** A nic's keys when nothing says what the config spelled out: its mac is printed, the rest by value. */
const MAC_SHOWN: ReadonlySet<string> = new Set(['mac']);

/** LIBXL_BUILDINFO_HVM_VIRIDIAN_ENABLE_DISABLE_WIDTH: the bits "all" sets. */
const VIRIDIAN_WIDTH = 64;

/**
 * The viridian defbool and bitmaps: a number sets the defbool; a list sets it for
 * "defaults", every bit for "all", and each enlightenment's bit in the enable map (or,
 * with "!", the disable map), clearing it in the other.
 */
function viridian(v: DomainConfig['viridian'], spelled: boolean): { viridian?: boolean; viridian_enable?: number[]; viridian_disable?: number[] } {
  if (typeof v === 'boolean') return v || spelled ? { viridian: v } : {};
  const enable = new Set<number>();
  const disable = new Set<number>();
  for (const item of v) {
    if (item === 'defaults') continue;
    if (item === 'all') {
      for (let bit = 0; bit < VIRIDIAN_WIDTH; bit++) enable.add(bit);
      continue;
    }
    const off = item.startsWith('!');
    const bit = VIRIDIAN_ENLIGHTENMENTS.indexOf(item.slice(off ? 1 : 0) as (typeof VIRIDIAN_ENLIGHTENMENTS)[number]);
    (off ? disable : enable).add(bit);
    (off ? enable : disable).delete(bit);
  }
  const bits = (set: Set<number>) => [...set].sort((a, b) => a - b);
  return {
    ...(v.includes('defaults') ? { viridian: true } : {}),
    ...(enable.size > 0 ? { viridian_enable: bits(enable) } : {}),
    ...(disable.size > 0 ? { viridian_disable: bits(disable) } : {}),
  };
}

/**
 * xlu_disk_parse() (libxlu_disk_l.l) into a libxl_device_disk (also what `xl -N
 * block-attach` prints). `given`: the keys the spec spelled out; libxlu sets those
 * fields even to their defaults (an empty cdrom's target "", discard, specification=xen).
 */
export function xlParsedDisk(d: DiskSpec, given: ReadonlySet<string> = NONE): LibxlDeviceDisk {
  const cdrom = d.devtype === 'cdrom';
  const target = d.target ?? (given.has('target') ? '' : undefined);
  return {
    ...(d.backend !== '0' || given.has('backend') ? { backend_domname: d.backend } : {}),
    ...(target !== undefined ? { pdev_path: target } : {}),
    vdev: d.vdev,
    ...(d.backendtype !== undefined ? { backend: d.backendtype } : {}),
    // An empty cdrom drive has format "empty"; a cdrom image keeps its format.
    format: d.format,
    ...(d.script !== undefined ? { script: d.script } : {}),
    ...(cdrom ? { removable: 1, is_cdrom: 1 } : { readwrite: d.access === 'rw' ? 1 : 0 }),
    ...(d['direct-io-safe'] ? { direct_io_safe: true } : {}),
    ...(!d.discard || given.has('discard') ? { discard_enable: d.discard } : {}),
    ...(!d.trusted || given.has('trusted') ? { trusted: d.trusted } : {}),
    ...(d.specification !== 'xen' || given.has('specification') ? { specification: d.specification } : {}),
  };
}

/** parse_nic_config() (xl_parse.c) into a libxl_device_nic; `given` as for xlParsedDisk (bridge=xenbr0 is printed). */
function nic(v: VifSpec, type: DomainConfig['type'], given: ReadonlySet<string>): LibxlDeviceNic {
  const rate = v.rate !== undefined ? parseVifRate(v.rate) : undefined;
  // type= sets nictype; without it xl leaves nictype to libxl (vif_ioemu on HVM).
  const defaultType = type === 'hvm' ? 'ioemu' : 'vif';
  return {
    ...(v.backend !== '0' || given.has('backend') ? { backend_domname: v.backend } : {}),
    devid: v.devid,
    ...(v.mtu !== 1500 || given.has('mtu') ? { mtu: v.mtu } : {}),
    // The config reader fills model rtl8139 for an emulated (ioemu) nic; xl leaves it to libxl.
    ...(v.model !== undefined && (given.has('model') || !(v.model === 'rtl8139' && v.type === 'ioemu')) ? { model: v.model } : {}),
    ...(given.has('mac') ? { mac: v.mac } : {}),
    ...(v.ip !== undefined ? { ip: v.ip } : {}),
    ...(v.bridge !== 'xenbr0' || given.has('bridge') ? { bridge: v.bridge } : {}),
    ...(v.vifname !== undefined ? { ifname: v.vifname } : {}),
    ...(v.script !== 'vif-bridge' || given.has('script') ? { script: v.script } : {}),
    ...(v.type !== defaultType || given.has('type') ? { nictype: v.type === 'ioemu' ? 'vif_ioemu' : 'vif' } : {}),
    ...(rate !== undefined ? { rate_bytes_per_interval: rate.bytesPerInterval, rate_interval_usecs: rate.intervalUsecs } : {}),
    ...(v.gatewaydev !== undefined ? { gatewaydev: v.gatewaydev } : {}),
    ...(!v.trusted || given.has('trusted') ? { trusted: v.trusted } : {}),
  };
}
