/**
 * The libxl_domain_config that `xl list -l` would retrieve for a domain xenemu
 * created, built from what xenemu knows. Real xl gets it in three steps (4.17):
 *
 * 1. xl's parse_config_data() (tools/xl/xl_parse.c) fills what the xl.cfg says, plus
 *    xl.conf defaults: from-config.ts, the one translation from a DomainConfig; `create
 *    -n` prints it.
 * 2. do_domain_create() (libxl_create.c) keeps a copy of that config as given, the
 *    "vanilla config" (guest_config_saved), and libxl's defaults go into another;
 *    domcreate_complete() stores the vanilla copy as the domain's libxl-json userdata
 *    after libxl__update_domain_configuration() (libxl_internal.c) brought over what the
 *    create settled: each nic's devid, nictype and mac (libxl_nic.c update_config), the
 *    uuid, video_memkb, and x86's msr_relaxed (libxl__arch_update_domain_config). No other
 *    default (disk backends, shadow memory, HVM firmware...) is stored.
 * 3. libxl_retrieve_domain_configuration() (libxl_domain.c) overwrites name, uuid,
 *    avail_vcpus (cpu/N/availability for N below the stored max_vcpus), target_memkb and
 *    max_memkb (memory/target plus the fudge, memory/static-max) and sched_params, and
 *    empties a removable disk with no media (libxl_device_disk_merge).
 *
 * So `list -l` prints what `create -n` printed for the same config, with those fields.
 */

import type { LibxlDeviceNic, LibxlDomainBuildInfo, LibxlDomainConfig, LibxlDomainSchedParams, LibxlDomainType, LibxlScheduler } from './idl.js';

/** The scheduler parameters libxl_domain_sched_params_get() reports (credit, credit2: weight and cap; rtds: period and budget). */
export interface XlSchedParams {
  sched: LibxlScheduler;
  weight?: number;
  cap?: number;
  period?: number;
  budget?: number;
}

/** What only the running domain knows: what libxl_retrieve_domain_configuration() overwrites. */
export interface LibxlLiveDomain {
  name: string;
  uuid: string;
  /** The vCPUs whose cpu/N/availability is "online". */
  onlineVcpus: readonly number[];
  /** /local/domain/N/memory/target, KiB (xl adds back the fudge: 0 for PV and PVH). */
  targetMemKb: number | bigint;
  /** /local/domain/N/memory/static-max, KiB. */
  maxMemKb: number | bigint;
  /** Default: credit with weight 256 and cap 0, as a fresh domain under credit. */
  sched?: XlSchedParams;
  /** Each nic's mac as the create settled it, in the config's order (libxl_nic.c update_config). */
  nicMacs: readonly string[];
}

/**
 * libxl_domain_config for `xl list -l` of a guest xenemu created: `parsed` is what
 * xl's parser built from its config (the object `create -n` prints), with what the
 * create settled and `live` over it.
 */
export function xlGuestDomainConfig(parsed: LibxlDomainConfig, live: LibxlLiveDomain): LibxlDomainConfig {
  const p = parsed.b_info ?? {};
  const type = parsed.c_info?.type ?? p.type;
  if (type !== 'pv' && type !== 'pvh' && type !== 'hvm') throw new RangeError(`libxl domain config of unknown type ${String(type)}`);
  const maxVcpus = p.max_vcpus ?? 0;
  const b: Mutable<LibxlDomainBuildInfo> = {
    ...p,
    avail_vcpus: live.onlineVcpus.filter((v) => v < maxVcpus),
    max_memkb: BigInt(live.maxMemKb),
    target_memkb: BigInt(live.targetMemKb),
    video_memkb: videoMemKb(p, type),
    sched_params: schedParams(live.sched),
    arch_x86: { ...p.arch_x86, msr_relaxed: p.arch_x86?.msr_relaxed ?? false },
  };
  const out: LibxlDomainConfig = {
    ...parsed,
    c_info: { ...parsed.c_info, type, name: live.name, uuid: live.uuid },
    b_info: b,
  };
  if (parsed.disks !== undefined) {
    // A cdrom drive with no media reads back as empty (libxl_device_disk_merge).
    out.disks = parsed.disks.map((d) => (d.removable && (d.pdev_path ?? '') === '' ? { ...d, pdev_path: '', format: 'empty' } : d));
  }
  // The mac a nic got at create is stored whether or not the config named one; the devid xl -n prints already.
  if (parsed.nics !== undefined) out.nics = parsed.nics.map((n, i) => ({ ...n, mac: n.mac ?? live.nicMacs[i], nictype: nicType(n, type) }));
  return out;
}

/**
 * libxl__device_nic_setdefault()'s nictype, which update_config keeps: a vif given at
 * create time on HVM gets the emulated twin (vif_ioemu) unless the config says type=vif;
 * PV and PVH guests only have vif.
 */
function nicType(n: LibxlDeviceNic, type: LibxlDomainType): LibxlDeviceNic['nictype'] {
  return type === 'hvm' ? (n.nictype ?? 'vif_ioemu') : 'vif';
}

/**
 * libxl__domain_build_info_setdefault()'s video_memkb: the config's videoram, else by
 * the graphics card for qemu-xen (none 0, qxl 128 MiB, std 16 MiB, cirrus 8 MiB); none
 * for PV and PVH.
 */
function videoMemKb(p: LibxlDomainBuildInfo, type: LibxlDomainType): number {
  if (p.video_memkb !== undefined) return Number(p.video_memkb);
  if (type !== 'hvm') return 0;
  const kind = p.u?.hvm?.vga?.kind;
  return kind === 'none' ? 0 : kind === 'qxl' ? 128 * 1024 : kind === 'std' ? 16 * 1024 : 8 * 1024;
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
  return { sched: p.sched, weight: p.weight, cap: p.cap, period: p.period, budget: p.budget };
}
