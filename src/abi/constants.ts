/**
 * Numeric ABI constants, from the Xen 4.17 public headers (/usr/include/xen, libxen-dev),
 * as seen by a build with `-D__XEN_TOOLS__` (interface version 0x00040e00).
 *
 * Naming: each group keeps the C spelling after its prefix, so `EVTCHNOP_send` in a
 * header, in Linux or in Xen is `EVTCHNOP.send` here, and grep finds both. Every group
 * is registered with its prefix and header, and test/abi/offsets.test.ts compiles a C
 * program that prints each `<prefix><key>` and compares it with the value below.
 */

export interface ConstantGroup {
  /** C macro prefix: the C name is prefix + key. */
  readonly prefix: string;
  /** The header that defines the macros, relative to /usr/include. */
  readonly header: string;
  readonly values: Readonly<Record<string, number>>;
}

/** Every constant group, for the C comparison test. */
export const ABI_CONSTANT_GROUPS: ConstantGroup[] = [];

function group<const V extends Record<string, number>>(prefix: string, header: string, values: V): Readonly<V> {
  ABI_CONSTANT_GROUPS.push({ prefix, header, values });
  return Object.freeze(values);
}

function scalar<const N extends number>(name: string, header: string, value: N): N {
  ABI_CONSTANT_GROUPS.push({ prefix: '', header, values: { [name]: value } });
  return value;
}

/** For the other ABI modules (blkif.ts, ...): their constants are registered for the C comparison the same way. */
export { group as defineConstantGroup, scalar as defineConstant };

// ---------------------------------------------------------------- limits and sizes

/** vCPUs with a vcpu_info slot in shared_info; the others must use VCPUOP_register_vcpu_info. */
export const XEN_LEGACY_MAX_VCPUS = scalar('XEN_LEGACY_MAX_VCPUS', 'xen/arch-x86/xen.h', 32);
/** The most vCPUs an HVM guest has (vcpu_online in hvm_info_table); xenemu's limit for every guest type. */
export const HVM_MAX_VCPUS = scalar('HVM_MAX_VCPUS', 'xen/hvm/hvm_info_table.h', 128);
/** Ports of the 2-level event channel ABI for a 64-bit guest: 64 words × 64 bits. */
export const EVTCHN_2L_NR_CHANNELS = scalar('EVTCHN_2L_NR_CHANNELS', 'xen/event_channel.h', 4096);
export const EVTCHN_FIFO_NR_CHANNELS = scalar('EVTCHN_FIFO_NR_CHANNELS', 'xen/event_channel.h', 131072);
/** start_info.cmd_line size, NUL included. */
export const MAX_GUEST_CMDLINE = scalar('MAX_GUEST_CMDLINE', 'xen/xen.h', 1024);
export const XENSTORE_RING_SIZE = scalar('XENSTORE_RING_SIZE', 'xen/io/xs_wire.h', 1024);
export const XENSTORE_PAYLOAD_MAX = scalar('XENSTORE_PAYLOAD_MAX', 'xen/io/xs_wire.h', 4096);

// ---------------------------------------------------------------- hypercalls

/** Hypercall numbers, `__HYPERVISOR_*` (xen.h). */
export const HYPERCALL = group('__HYPERVISOR_', 'xen/xen.h', {
  set_trap_table: 0,
  mmu_update: 1,
  set_gdt: 2,
  stack_switch: 3,
  set_callbacks: 4,
  fpu_taskswitch: 5,
  sched_op_compat: 6,
  platform_op: 7,
  set_debugreg: 8,
  get_debugreg: 9,
  update_descriptor: 10,
  memory_op: 12,
  multicall: 13,
  update_va_mapping: 14,
  set_timer_op: 15,
  event_channel_op_compat: 16,
  xen_version: 17,
  console_io: 18,
  physdev_op_compat: 19,
  grant_table_op: 20,
  vm_assist: 21,
  update_va_mapping_otherdomain: 22,
  iret: 23,
  vcpu_op: 24,
  set_segment_base: 25,
  mmuext_op: 26,
  xsm_op: 27,
  nmi_op: 28,
  sched_op: 29,
  callback_op: 30,
  xenoprof_op: 31,
  event_channel_op: 32,
  physdev_op: 33,
  hvm_op: 34,
  sysctl: 35,
  domctl: 36,
  kexec_op: 37,
  tmem_op: 38,
  argo_op: 39,
  xenpmu_op: 40,
  dm_op: 41,
  hypfs_op: 42,
});

/** HYPERVISOR_event_channel_op commands (event_channel.h). `reset_cont` (14) is Xen-internal. */
export const EVTCHNOP = group('EVTCHNOP_', 'xen/event_channel.h', {
  bind_interdomain: 0,
  bind_virq: 1,
  bind_pirq: 2,
  close: 3,
  send: 4,
  status: 5,
  alloc_unbound: 6,
  bind_ipi: 7,
  bind_vcpu: 8,
  unmask: 9,
  reset: 10,
  init_control: 11,
  expand_array: 12,
  set_priority: 13,
});

/** evtchn_status.status values (event_channel.h). */
export const EVTCHNSTAT = group('EVTCHNSTAT_', 'xen/event_channel.h', {
  closed: 0,
  unbound: 1,
  interdomain: 2,
  pirq: 3,
  virq: 4,
  ipi: 5,
});

/** Virtual IRQs bindable with EVTCHNOP_bind_virq (xen.h). V = per vCPU, G = global. */
export const VIRQ = group('VIRQ_', 'xen/xen.h', {
  TIMER: 0, // V: timebase update and/or requested timeout
  DEBUG: 1, // V: request guest to dump debug info
  CONSOLE: 2, // G (dom0): bytes received on the emergency console
  DOM_EXC: 3, // G (dom0): exceptional event for some domain
  TBUF: 4, // G (dom0): trace buffer has records
  DEBUGGER: 6, // G (dom0): a domain has paused for debugging
  XENOPROF: 7, // V
  CON_RING: 8, // G (dom0): bytes received on console
  PCPU_STATE: 9, // G (dom0)
  MEM_EVENT: 10, // G (dom0)
  ARGO: 11, // G
  ENOMEM: 12, // G (dom0): low on heap memory
  XENPMU: 13, // V
  ARCH_0: 16,
  ARCH_1: 17,
  ARCH_2: 18,
  ARCH_3: 19,
  ARCH_4: 20,
  ARCH_5: 21,
  ARCH_6: 22,
  ARCH_7: 23,
});

/** HYPERVISOR_vcpu_op commands (vcpu.h). */
export const VCPUOP = group('VCPUOP_', 'xen/vcpu.h', {
  initialise: 0,
  up: 1,
  down: 2,
  is_up: 3,
  get_runstate_info: 4,
  register_runstate_memory_area: 5,
  set_periodic_timer: 6,
  stop_periodic_timer: 7,
  set_singleshot_timer: 8,
  stop_singleshot_timer: 9,
  register_vcpu_info: 10,
  send_nmi: 11,
  get_physid: 12,
  register_vcpu_time_memory_area: 13,
});

/** HYPERVISOR_sched_op commands (sched.h). */
export const SCHEDOP = group('SCHEDOP_', 'xen/sched.h', {
  yield: 0,
  block: 1,
  shutdown: 2,
  poll: 3,
  remote_shutdown: 4,
  shutdown_code: 5,
  watchdog: 6,
  pin_override: 7,
});

/** sched_shutdown.reason (sched.h); also the shutdown codes xl reports. */
export const SHUTDOWN = group('SHUTDOWN_', 'xen/sched.h', {
  poweroff: 0,
  reboot: 1,
  suspend: 2,
  crash: 3,
  watchdog: 4,
  soft_reset: 5,
  MAX: 5,
});

/**
 * XEN_DOMCTL_shadow_op's operations (domctl.h): the log-dirty ones libxc's
 * xc_shadow_control issues for a live migration.
 */
export const XEN_DOMCTL_SHADOW_OP = group('XEN_DOMCTL_SHADOW_OP_', 'xen/domctl.h', {
  OFF: 0,
  ENABLE_LOGDIRTY: 2,
  CLEAN: 11,
  PEEK: 12,
});

/** XEN_DOMCTL_SHADOW_OP_{CLEAN,PEEK}'s mode flags (domctl.h). */
export const XEN_DOMCTL_SHADOW_LOGDIRTY = group('XEN_DOMCTL_SHADOW_LOGDIRTY_', 'xen/domctl.h', {
  /** The last round: pages the hypervisor (and other domains) hold writable count as dirty too. */
  FINAL: 1 << 0,
});

/** HYPERVISOR_memory_op commands (memory.h). */
export const XENMEM = group('XENMEM_', 'xen/memory.h', {
  increase_reservation: 0,
  decrease_reservation: 1,
  maximum_ram_page: 2,
  current_reservation: 3,
  maximum_reservation: 4,
  machphys_mfn_list: 5,
  populate_physmap: 6,
  add_to_physmap: 7,
  memory_map: 9,
  machine_memory_map: 10,
  exchange: 11,
  machphys_mapping: 12,
  set_memory_map: 13,
  maximum_gpfn: 14,
  remove_from_physmap: 15,
  set_pod_target: 16,
  get_pod_target: 17,
  add_to_physmap_batch: 23,
  claim_pages: 24,
  acquire_resource: 28,
});

/** HYPERVISOR_xen_version commands (version.h). */
export const XENVER = group('XENVER_', 'xen/version.h', {
  version: 0,
  extraversion: 1,
  compile_info: 2,
  capabilities: 3,
  changeset: 4,
  platform_parameters: 5,
  get_features: 6,
  pagesize: 7,
  guest_handle: 8,
  commandline: 9,
  build_id: 10,
});

/** Feature bits reported by XENVER_get_features, submap 0 (features.h). */
export const XENFEAT = group('XENFEAT_', 'xen/features.h', {
  writable_page_tables: 0,
  writable_descriptor_tables: 1,
  auto_translated_physmap: 2,
  supervisor_mode_kernel: 3,
  pae_pgdir_above_4gb: 4,
  mmu_pt_update_preserve_ad: 5,
  highmem_assist: 6,
  gnttab_map_avail_bits: 7,
  hvm_callback_vector: 8,
  hvm_safe_pvclock: 9,
  hvm_pirqs: 10,
  dom0: 11,
  // 12 was grant_map_identity, deprecated and commented out of the header.
  memory_op_vnode_supported: 13,
  linux_rsdp_unrestricted: 15,
});

/** HYPERVISOR_console_io commands (xen.h): the emergency console. */
export const CONSOLEIO = group('CONSOLEIO_', 'xen/xen.h', { write: 0, read: 1 });

/** HYPERVISOR_hvm_op commands (hvm/hvm_op.h). */
export const HVMOP = group('HVMOP_', 'xen/hvm/hvm_op.h', {
  set_param: 0,
  get_param: 1,
  set_evtchn_upcall_vector: 23,
});

/** HVM parameters (hvm/params.h): where an HVM/PVH guest finds xenstore and console. */
export const HVM_PARAM = group('HVM_PARAM_', 'xen/hvm/params.h', {
  CALLBACK_IRQ: 0,
  STORE_PFN: 1,
  STORE_EVTCHN: 2,
  VIRIDIAN: 9,
  CONSOLE_PFN: 17,
  CONSOLE_EVTCHN: 18,
});

/** HVM_PARAM_CALLBACK_IRQ delivery types, stored in bits 63:56 of the value (hvm/params.h, x86). */
export const HVM_PARAM_CALLBACK_TYPE = group('HVM_PARAM_CALLBACK_TYPE_', 'xen/hvm/params.h', {
  GSI: 0,
  PCI_INTX: 1,
  VECTOR: 2,
});
/** Shift of the type in HVM_PARAM_CALLBACK_IRQ ("val[63:56] encodes the type"). */
export const HVM_PARAM_CALLBACK_TYPE_SHIFT = 56;

// ---------------------------------------------------------------- domains and boot

/** Special domain ids (xen.h). */
export const DOMID = group('DOMID_', 'xen/xen.h', {
  FIRST_RESERVED: 0x7ff0,
  SELF: 0x7ff0,
  IO: 0x7ff1,
  XEN: 0x7ff2,
  COW: 0x7ff3,
  INVALID: 0x7ff4,
  IDLE: 0x7fff,
  MASK: 0x7fff,
});

/** start_info.flags (xen.h). */
export const SIF = group('SIF_', 'xen/xen.h', {
  PRIVILEGED: 1 << 0,
  INITDOMAIN: 1 << 1,
  MULTIBOOT_MOD: 1 << 2,
  MOD_START_PFN: 1 << 3,
  VIRT_P2M_4TOOLS: 1 << 4,
  PM_MASK: 0xff << 8,
});

/** vcpu_time_info.flags (xen.h). */
export const XEN_PVCLOCK = group('XEN_PVCLOCK_', 'xen/xen.h', {
  TSC_STABLE_BIT: 1 << 0,
  GUEST_STOPPED: 1 << 1,
});

/** CPUID leaves (arch-x86/cpuid.h). */
export const XEN_CPUID = group('XEN_CPUID_', 'xen/arch-x86/cpuid.h', {
  FIRST_LEAF: 0x40000000,
  /** "XenV" */
  SIGNATURE_EBX: 0x566e6558,
  /** "MMXe" */
  SIGNATURE_ECX: 0x65584d4d,
  /** "nVMM" */
  SIGNATURE_EDX: 0x4d4d566e,
  MAX_NUM_LEAVES: 5,
});

/**
 * Where the Xen leaves start. cpuid.h: "the Xen cpuid leaves can be found at the first
 * otherwise unused 0x100 aligned boundary starting from 0x40000000 … If viridian
 * extensions are enabled for an HVM domain, the Xen cpuid leaves will start at
 * 0x40000100" (the Hyper-V leaves then own 0x40000000).
 */
export function xenCpuidBase(viridian: boolean): number {
  return XEN_CPUID.FIRST_LEAF + (viridian ? 0x100 : 0);
}

/** The Xen leaves, relative to xenCpuidBase() (arch-x86/cpuid.h "Leaf 1".."Leaf 6"). */
export const XEN_CPUID_LEAF = {
  /** EAX = largest Xen leaf (base + XEN_CPUID_MAX_NUM_LEAVES), EBX/ECX/EDX = "XenVMMXenVMM". */
  SIGNATURE: 0,
  /** EAX = major << 16 | minor. */
  VERSION: 1,
  /** EAX = hypercall pages, EBX = MSR base, ECX/EDX = features. */
  HYPERCALL: 2,
  /** TSC mode and frequencies, by sub-leaf. */
  TIME: 3,
  /** HVM features (XEN_HVM_CPUID_*), vcpu id, domain id. */
  HVM: 4,
  /** PV parameters: machine address width. */
  PV: 5,
} as const;

/** Leaf 5 (base + 4) EAX feature bits (arch-x86/cpuid.h). */
export const XEN_HVM_CPUID = group('XEN_HVM_CPUID_', 'xen/arch-x86/cpuid.h', {
  APIC_ACCESS_VIRT: 1 << 0,
  X2APIC_VIRT: 1 << 1,
  IOMMU_MAPPINGS: 1 << 2,
  VCPU_ID_PRESENT: 1 << 3,
  DOMID_PRESENT: 1 << 4,
  EXT_DEST_ID: 1 << 5,
  UPCALL_VECTOR: 1 << 6,
});

// ---------------------------------------------------------------- grant tables

/** HYPERVISOR_grant_table_op commands (grant_table.h). */
export const GNTTABOP = group('GNTTABOP_', 'xen/grant_table.h', {
  map_grant_ref: 0,
  unmap_grant_ref: 1,
  setup_table: 2,
  dump_table: 3,
  transfer: 4,
  copy: 5,
  query_size: 6,
  unmap_and_replace: 7,
  set_version: 8,
  get_status_frames: 9,
  get_version: 10,
  swap_grant_ref: 11,
  cache_flush: 12,
});

/** Grant operation status codes (grant_table.h). */
export const GNTST = group('GNTST_', 'xen/grant_table.h', {
  okay: 0,
  general_error: -1,
  bad_domain: -2,
  bad_gntref: -3,
  bad_handle: -4,
  bad_virt_addr: -5,
  bad_dev_addr: -6,
  no_device_space: -7,
  permission_denied: -8,
  bad_page: -9,
  bad_copy_arg: -10,
  address_too_big: -11,
  eagain: -12,
  no_space: -13,
});

/** grant_entry_v1.flags (grant_table.h). The type is bits 0-1. */
export const GTF = group('GTF_', 'xen/grant_table.h', {
  invalid: 0,
  permit_access: 1,
  accept_transfer: 2,
  transitive: 3,
  type_mask: 3,
  /** permit_access: the grantee may only read. */
  readonly: 1 << 2,
  /** Set by Xen while the grantee has the frame mapped or copies from it. */
  reading: 1 << 3,
  /** Set by Xen while the grantee has the frame mapped writable or copies to it. */
  writing: 1 << 4,
  PWT: 1 << 5,
  PCD: 1 << 6,
  PAT: 1 << 7,
  sub_page: 1 << 8,
  /** accept_transfer only. */
  transfer_committed: 1 << 2,
  /** accept_transfer only. */
  transfer_completed: 1 << 3,
});

/** gnttab_map_grant_ref.flags (grant_table.h). */
export const GNTMAP = group('GNTMAP_', 'xen/grant_table.h', {
  device_map: 1 << 0,
  host_map: 1 << 1,
  readonly: 1 << 2,
  application_map: 1 << 3,
  contains_pte: 1 << 4,
});

/** gnttab_copy.flags (grant_table.h): which sides are grant refs rather than the caller's frames. */
export const GNTCOPY = group('GNTCOPY_', 'xen/grant_table.h', {
  source_gref: 1 << 0,
  dest_gref: 1 << 1,
});

/** Reserved grant refs (grant_table.h): the toolstack pre-fills refs 0 and 1. */
export const GNTTAB = group('GNTTAB_', 'xen/grant_table.h', {
  NR_RESERVED_ENTRIES: 8,
  RESERVED_CONSOLE: 0,
  RESERVED_XENSTORE: 1,
});

// ---------------------------------------------------------------- xenstore ring page

/** xenstore_domain_interface.server_features bits (io/xs_wire.h). */
export const XENSTORE_SERVER_FEATURE = group('XENSTORE_SERVER_FEATURE_', 'xen/io/xs_wire.h', {
  RECONNECTION: 1,
  ERROR: 2,
});

/** xenstore_domain_interface.connection values (io/xs_wire.h). */
export const XENSTORE_CONNECTION = group('XENSTORE_', 'xen/io/xs_wire.h', {
  CONNECTED: 0,
  RECONNECT: 1,
});

/** xenstore_domain_interface.error values (io/xs_wire.h, misc/xenstore-ring.txt). */
export const XENSTORE_ERROR = group('XENSTORE_ERROR_', 'xen/io/xs_wire.h', {
  NONE: 0,
  /** Communication problems (event channel not functional). */
  COMM: 1,
  /** Inconsistent producer or consumer offset. */
  RINGIDX: 2,
  /** Protocol violation (client data package too long). */
  PROTO: 3,
});

// ---------------------------------------------------------------- xenbus

/**
 * The state each end of a split device publishes in its `state` node (io/xenbus.h,
 * enum xenbus_state). A frontend and its backend each write their own and watch the
 * other's; the handshake is Initialising → InitWait → Initialised → Connected, and
 * Closing → Closed to take a device down.
 */
export const XenbusState = group('XenbusState', 'xen/io/xenbus.h', {
  Unknown: 0,
  Initialising: 1,
  /** Waiting for information from the other end (a backend's hotplug, say). */
  InitWait: 2,
  /** Ready to connect: the end has published what the other needs. */
  Initialised: 3,
  Connected: 4,
  /** Going down: the other end should disconnect. */
  Closing: 5,
  Closed: 6,
  Reconfiguring: 7,
  Reconfigured: 8,
});
export type XenbusState = (typeof XenbusState)[keyof typeof XenbusState];
