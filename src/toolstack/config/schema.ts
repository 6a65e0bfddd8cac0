/**
 * The one definition of a domain config: this zod schema gives the TypeScript types,
 * the validation of both input formats (YAML, and xl.cfg mapped onto the same keys)
 * and configs/schema.json for editors (scripts/gen-config-schema.ts).
 *
 * Keys are xl.cfg(5)'s, with xl's meanings and defaults (libxl's where xl leaves
 * them to libxl: memory 32 MiB, 1 vCPU). What xenemu adds for the emulation lives
 * under `xenemu:` (`xenemu.hz = 250` in an xl.cfg: xl's lexer allows dots in keys,
 * and the real xl ignores keys it does not know, so such a file still works there).
 */

import { FaultConfigObject, faultParams, faultProblem } from '../../faults/config.js';
import { parseFaultSpec } from '../../faults/spec.js';
import { posix } from 'node:path';
import * as z from 'zod';
import { DOMID, HVM_MAX_VCPUS, MAX_GUEST_CMDLINE } from '../../abi/constants.js';
import { cpuListProblem } from './cpulist.js';
import { DISK_BACKENDTYPES, DISK_FORMATS, DISK_SPECIFICATIONS, DiskSpecError, parseDiskSpec } from './disk-spec.js';
import { EVENT_HANDLERS, parseEventSpec } from './events.js';
import { SpecError } from './spec-pairs.js';
import { decodeVdev, vdevProblem } from './vdev.js';
import { generateMac, normaliseMac, parseVifRate, parseVifSpec, VifSpecError } from './vif-spec.js';

export const DOMAIN_TYPES = ['pv', 'pvh', 'hvm'] as const;
export const SHUTDOWN_ACTIONS = ['destroy', 'restart', 'rename-restart', 'preserve', 'coredump-destroy', 'coredump-restart', 'soft-reset'] as const;
/** libxl_viridian_enlightenment (libxl_types.idl, 4.17). */
export const VIRIDIAN_ENLIGHTENMENTS = [
  'base',
  'freq',
  'time_ref_count',
  'reference_tsc',
  'hcall_remote_tlb_flush',
  'apic_assist',
  'crash_ctl',
  'synic',
  'stimer',
  'hcall_ipi',
  'ex_processor_masks',
  'no_vp_limit',
  'cpu_hotplug',
] as const;
export const CALLBACK_MODES = ['vector', 'pci-intx'] as const;

/** The emulated hypervisor's vCPU limit per domain (createdomain refuses more). */
export const MAX_VCPUS = HVM_MAX_VCPUS;
/**
 * The most vCPUs a config may ask for: Xen's own x86 limit (MAX_VIRT_CPUS, a PV
 * guest's; HVM_MAX_VCPUS is 128). xl takes any count and leaves the refusal to the
 * hypervisor; a config may say up to this, which `create -n` prints as xl does and
 * create refuses as the hypervisor does, and no more (xl would list every one of a
 * huge count in avail_vcpus).
 */
export const MAX_CONFIG_VCPUS = 8192;
/** libxl's default when neither memory nor maxmem is given (libxl_create.c). */
export const DEFAULT_MEMORY_MIB = 32;
export const MAX_MEMORY_MIB = 0x7fffffff;
export const MAX_NAME_LENGTH = 64;
/**
 * The largest value the toolstack can write to XenStore: xenstored's default value
 * quota (quota-maxsize in oxenstored.conf, 2048 bytes). libxl writes kernel, ramdisk
 * and the command line under /vm/<uuid>/image; a longer one would fail the create
 * with E2BIG, so the config is refused instead, at the value's place.
 */
export const XENSTORE_VALUE_MAX = 2048;

/**
 * The kernel command line as xl builds it (parse_cmdline in xl_parse.c): cmdline
 * when given, else "root=ROOT EXTRA", "root=ROOT" or EXTRA.
 */
export function kernelCommandLine(c: { cmdline?: string | undefined; root?: string | undefined; extra?: string | undefined }): string | undefined {
  if (c.cmdline !== undefined) return c.cmdline;
  if (c.root !== undefined) return c.extra !== undefined ? `root=${c.root} ${c.extra}` : `root=${c.root}`;
  return c.extra;
}

/** Why a domain name is refused, or undefined. */
export function domainNameProblem(name: string): string | undefined {
  if (name === '') return 'the name is empty';
  if (name.length > MAX_NAME_LENGTH) return `the name is longer than ${MAX_NAME_LENGTH} characters`;
  const bad = /[^A-Za-z0-9._-]/.exec(name);
  if (bad) {
    return `the name contains ${JSON.stringify(bad[0])}: use letters, digits, ".", "_" and "-" (the name becomes part of file names and xenstore values)`;
  }
  if (/^[.-]/.test(name)) return 'the name must not start with "." or "-"';
  if (/^[0-9]+$/.test(name)) return 'the name is all digits, which xl and xenemu read as a domain id: add a letter';
  if (name === 'Domain-0') return 'Domain-0 is the name of dom0';
  return undefined;
}
const NAME_PATTERN = `^(?!Domain-0$)(?![0-9]+$)[A-Za-z0-9_][A-Za-z0-9._-]{0,${MAX_NAME_LENGTH - 1}}$`;

/**
 * A domain name, wherever one is given (a config, `rename`, the control socket):
 * domainNameProblem's rule, as a pattern configs/schema.json can carry. libxl itself
 * only asks for a name that is unique and not empty, and reads an all-digit one as a
 * domid (libxl_domain_qualifier_to_domid); xenemu also keeps names to what can be a
 * file name (xenconsoled's guest-NAME.log) and printed as it is.
 */
const DomainName = z.string().regex(new RegExp(NAME_PATTERN), { error: (iss) => domainNameProblem(String(iss.input)) ?? 'invalid name' });

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * Why a disk target would surprise: a relative target is resolved against the
 * config file's directory and may not climb out of it with "..". An absolute path
 * is the user pointing somewhere explicitly, and is allowed.
 */
export function diskTargetProblem(target: string): string | undefined {
  if (target.includes('\0')) return 'the target contains a NUL character';
  if (target.includes('\n')) return 'the target contains a newline';
  if (target === '' || posix.isAbsolute(target)) return undefined;
  const norm = posix.normalize(target);
  if (norm === '..' || norm.startsWith('../')) {
    return `"${target}" climbs out of the config file's directory: relative targets are resolved against that directory; write an absolute path to use an image elsewhere`;
  }
  return undefined;
}

/** A string item of a spec (vif, disk): xl cuts specs at commas, so values cannot hold one. */
const specValue = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .min(1, { error: `${what} is empty` })
    .regex(/^[^,\n]*$/, { error: `${what} cannot contain a comma or a newline (xl cuts specs at commas)` });

/** A backend domain, by name or id (xl.cfg's backend=DOMAIN); 0 is the toolstack domain. */
const backendDomain = z
  .union([specValue('backend'), z.int().min(0).max(DOMID.FIRST_RESERVED - 1)], { error: 'backend must be a domain name or id' })
  .transform((v) => String(v))
  .default('0')
  .describe('Backend domain (name or id); default 0, the toolstack domain');

/** Run a spec parser inside zod: its errors become issues that carry their offset. */
function specString<T>(what: string, parse: (s: string) => T) {
  return z.string().transform((s, ctx) => {
    try {
      return parse(s);
    } catch (e) {
      if (e instanceof DiskSpecError || e instanceof VifSpecError || e instanceof SpecError) {
        ctx.issues.push({ code: 'custom', message: e.message, input: s, params: { offset: e.offset, spec: what } });
        return z.NEVER;
      }
      throw e;
    }
  });
}

const DiskObject = z
  .strictObject({
    target: z
      .string()
      .optional()
      .describe('Image file or block device. Relative paths resolve against the config file\'s directory and may not climb out of it. Empty or absent: an empty cdrom drive'),
    format: z.enum(DISK_FORMATS).default('raw').describe('Image format; xenemu serves raw images'),
    vdev: z.string().describe('Virtual device as the guest sees it: xvdX[N], hdX[N], sdX[N], dNpM (xen-vbd-interface(7))'),
    devid: z
      .int()
      .min(0)
      .optional()
      .describe('The device number vdev stands for (xen-vbd-interface(7)); derived from vdev, and must agree with it when given'),
    access: z
      .enum(['ro', 'rw', 'r', 'w'])
      .default('rw')
      .describe('ro/r read-only, rw/w read-write (cdroms are always read-only)'),
    devtype: z.enum(['disk', 'cdrom']).default('disk'),
    backend: backendDomain,
    backendtype: z.enum(DISK_BACKENDTYPES).optional().describe('Backend implementation; default: chosen by the toolstack'),
    script: specValue('script').optional().describe('Block hotplug script; the target is then not a path but the script\'s argument'),
    'direct-io-safe': z.boolean().default(false),
    discard: z.boolean().default(true).describe('Advertise discard (TRIM) to the frontend'),
    trusted: z.boolean().default(true).describe('Whether the frontend may trust the backend'),
    specification: z.enum(DISK_SPECIFICATIONS).default('xen'),
  })
  .transform((d, ctx) => {
    const info = decodeVdev(d.vdev);
    if (!info) {
      ctx.issues.push({ code: 'custom', message: vdevProblem(d.vdev), input: d.vdev, path: ['vdev'] });
      return z.NEVER;
    }
    if (d.devid !== undefined && d.devid !== info.devid) {
      ctx.issues.push({ code: 'custom', message: `devid ${d.devid} is not ${d.vdev}'s (${info.devid})`, input: d.devid, path: ['devid'] });
      return z.NEVER;
    }
    const cdrom = d.devtype === 'cdrom';
    const empty = d.target === undefined || d.target === '';
    if (empty && !cdrom) {
      ctx.issues.push({ code: 'custom', message: 'no target: give the image path (only a cdrom may be empty)', input: d, path: ['target'] });
      return z.NEVER;
    }
    if (d.target !== undefined && d.target.endsWith(',')) {
      // STRIP(',') in libxlu_disk_l.l drops it: no DISKSPEC can say it.
      ctx.issues.push({ code: 'custom', message: 'a target cannot end with a comma (xl\'s disk spec drops it)', input: d.target, path: ['target'] });
      return z.NEVER;
    }
    if (d.target !== undefined && d.script === undefined) {
      const problem = diskTargetProblem(d.target);
      if (problem) {
        ctx.issues.push({ code: 'custom', message: problem, input: d.target, path: ['target'] });
        return z.NEVER;
      }
    }
    return {
      ...(d.target !== undefined && d.target !== '' ? { target: d.target } : {}),
      format: cdrom && empty ? ('empty' as const) : d.format,
      vdev: d.vdev,
      devid: info.devid,
      access: cdrom || d.access === 'ro' || d.access === 'r' ? ('ro' as const) : ('rw' as const),
      devtype: d.devtype,
      backend: d.backend,
      ...(d.backendtype !== undefined ? { backendtype: d.backendtype } : {}),
      ...(d.script !== undefined ? { script: d.script } : {}),
      'direct-io-safe': d['direct-io-safe'],
      discard: d.discard,
      trusted: d.trusted,
      specification: d.specification,
    };
  });

const DiskItem = z
  .union(
    [
      specString('disk', (s) => parseDiskSpec(s).fields as z.input<typeof DiskObject>)
        .pipe(DiskObject)
        .describe('A DISKSPEC string as in xl-disk-configuration(5), e.g. "format=raw, vdev=xvda, access=rw, target=disk.img"'),
      DiskObject,
    ],
    { error: 'a disk is a DISKSPEC string or a mapping with target, vdev, ...' },
  )
  .describe('A virtual block device');

/**
 * A vif with its defaults filled in (libxl__device_nic_setdefault): the MAC derived
 * from `seed` (the domain's uuid or name) and the devid when the spec has none, the
 * type and model from the domain's type.
 */
export function finishVif(v: z.output<typeof VifObject>, seed: string, devid: number, domainType: (typeof DOMAIN_TYPES)[number]) {
  const type = v.type ?? (domainType === 'hvm' ? 'ioemu' : 'vif');
  const model = v.model ?? (type === 'ioemu' ? 'rtl8139' : undefined);
  return {
    mac: v.mac ?? generateMac(seed, devid),
    bridge: v.bridge,
    ...(v.gatewaydev !== undefined ? { gatewaydev: v.gatewaydev } : {}),
    type,
    ...(model !== undefined ? { model } : {}),
    ...(v.vifname !== undefined ? { vifname: v.vifname } : {}),
    script: v.script,
    ...(v.ip !== undefined ? { ip: v.ip } : {}),
    ...(v.capture !== undefined ? { capture: v.capture } : {}),
    backend: v.backend,
    ...(v.rate !== undefined ? { rate: v.rate } : {}),
    devid,
    mtu: v.mtu,
    trusted: v.trusted,
  };
}

/** One disk, as a DISKSPEC string or a mapping, normalised (block-attach's parameter). */
export const DiskSpecField = DiskItem;
/** One disk as a mapping (what parseDiskSpec's fields are), with the mapping's own messages. */
export const DiskSpecObject = DiskObject;

const VifObject = z.strictObject({
  mac: z
    .string()
    .refine((m) => normaliseMac(m) !== undefined, { error: 'mac must be six hex bytes, e.g. 00:16:3e:74:3d:76' })
    .transform((m) => normaliseMac(m)!)
    .optional()
    .describe('Guest MAC; default: 00:16:3e:xx:xx:xx derived from the domain uuid (or name) and devid, stable across creates'),
  bridge: specValue('bridge').default('xenbr0'),
  gatewaydev: specValue('gatewaydev').optional(),
  type: z.enum(['vif', 'ioemu']).optional().describe('HVM only: ioemu (emulated + PV, the HVM default) or vif (PV only)'),
  model: specValue('model').optional().describe('Emulated NIC model for type ioemu; default rtl8139'),
  vifname: specValue('vifname').optional().describe('Backend interface name; default vif<domid>.<devid>'),
  script: specValue('script').default('vif-bridge').describe('Hotplug script, relative to /etc/xen/scripts'),
  ip: specValue('ip').optional(),
  capture: specValue('capture').optional().describe("The vif's pcap capture file (xenemu's); default $XENEMU_HOME/captures/<domain>-<devid>.pcap"),
  backend: backendDomain,
  rate: specValue('rate')
    .superRefine((r, ctx) => {
      try {
        parseVifRate(r);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
      }
    })
    .optional()
    .describe('Transmit rate limit, e.g. 10Mb/s or 1MB/s@20ms'),
  devid: z.int().min(0).max(0xffff).optional().describe('Device id; default: the index in the vif list'),
  mtu: z.int().min(68).max(65535).default(1500),
  trusted: z.boolean().default(true),
});

const VifItem = z.union(
  [
    specString('vif', (s) => parseVifSpec(s).fields as z.input<typeof VifObject>)
      .pipe(VifObject)
      .describe('A vifspec string as in xl-network-configuration(5), e.g. "mac=00:16:3e:74:3d:76,bridge=xenbr0"'),
    VifObject,
  ],
  { error: 'a vif is a vifspec string or a mapping with mac, bridge, ...' },
);

/** One vif, as a vifspec string or a mapping, defaults not yet filled in (network-attach's parameter; see finishVif). */
export const VifSpecField = VifItem;
export type VifSpecInput = z.output<typeof VifObject>;

const EventObject = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'event source names use letters, digits, ".", "_" and "-" (at most 64)' })
    .describe('Name of the source, as interrupt statistics show it'),
  rate: z.number().positive().max(1_000_000).describe('Events per second'),
  handler: z.enum(EVENT_HANDLERS).describe('How the guest kernel handles it: filter (in the upcall), ithread (in an interrupt thread), or both'),
  vcpu: z.int().min(0).max(MAX_VCPUS - 1).optional().describe('vCPU the event channel is bound to; default 0'),
});

const EventItem = z.union(
  [specString('event', (s) => parseEventSpec(s) as z.input<typeof EventObject>).pipe(EventObject).describe('"name=net0,rate=2000,handler=ithread,vcpu=1"'), EventObject],
  { error: 'an event source is a spec string or a mapping with name, rate, handler, vcpu' },
);

/** A fault of the domain's own: aimed at it, so it names no target, and nothing host-wide. */
const DomainFaultObject = FaultConfigObject.superRefine((f, ctx) => {
  const problem = f.target !== undefined ? "a domain config's faults act on the domain itself: remove target" : faultProblem(faultParams(f, null), 'domain', 'keys');
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem, path: f.target !== undefined ? ['target'] : [] });
});

const FaultItem = z.union(
  [
    specString('fault', parseFaultSpec)
      .pipe(DomainFaultObject)
      .describe('"kind=xs-errno,errno=EACCES,op=READ,count=3"; quotas as quota.nodes=20'),
    DomainFaultObject,
  ],
  { error: 'a fault is a spec string or a mapping with kind and its options' },
);

const XenemuObject = z
  .strictObject({
    hz: z.int().min(1).max(10000).default(100).describe('Timer interrupt frequency of the emulated guest kernel (HZ)'),
    callback: z
      .enum(CALLBACK_MODES)
      .default('vector')
      .describe('HVM event channel upcall: a per-vCPU vector, or the platform PCI device\'s INTx line'),
    events: z.array(EventItem).default([]).describe('Synthetic event sources the emulated guest kernel receives'),
    faults: z
      .array(FaultItem)
      .default([])
      .describe('Faults made to happen to this domain each time it is built, as `xenemu fault add KIND DOMAIN` adds them'),
  })
  .prefault({})
  .describe('xenemu extensions: emulation settings that are not xl.cfg keys');

const cpuListString = z.string().superRefine((s, ctx) => {
  const problem = cpuListProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const cpuList = z
  .union([cpuListString, z.array(cpuListString).min(1, { error: 'the per-vCPU list is empty' })], {
    error: 'a CPU list is a string ("0-3,^2") or a list with one string per vCPU',
  })
  .optional();

const VIRIDIAN_ITEMS = ['all', 'defaults', ...VIRIDIAN_ENLIGHTENMENTS, ...VIRIDIAN_ENLIGHTENMENTS.map((e) => `!${e}`)] as const;

const action = (dflt: (typeof SHUTDOWN_ACTIONS)[number], when: string) =>
  z.enum(SHUTDOWN_ACTIONS).default(dflt).describe(`What to do when the guest ${when}; default ${dflt}`);

/** A string the toolstack writes to XenStore as one value. */
const xenstoreValue = (what: string) =>
  z.string().refine((s) => Buffer.byteLength(s) <= XENSTORE_VALUE_MAX, {
    error: (iss) =>
      `${what} is ${Buffer.byteLength(String(iss.input))} bytes; XenStore holds values of at most ${XENSTORE_VALUE_MAX} bytes (its default quota-maxsize)`,
  });

const optionalPath = (what: string) =>
  z
    .string()
    .min(1, { error: `${what} is empty` })
    .pipe(xenstoreValue(what))
    .optional();

/** The input form: what a YAML file (or an xl.cfg, once mapped) may say. */
export const DomainConfigInputSchema = z
  .strictObject({
    name: DomainName.describe('Domain name (mandatory), unique on the host'),
    type: z.enum(DOMAIN_TYPES).default('pv').describe('Guest type; default pv (xl.cfg: `builder` is a deprecated alias)'),
    uuid: z
      .string()
      .regex(UUID_RE, { error: 'a uuid is 8-4-4-4-12 hex digits, e.g. 5b0b7f04-2d6c-4d3e-9c1a-0c2f5e8a9d11' })
      .transform((u) => u.toLowerCase())
      .optional()
      .describe('Domain UUID; generated at create when absent'),
    memory: z.int().min(1).max(MAX_MEMORY_MIB).optional().describe(`Initial memory in MiB; default maxmem, or ${DEFAULT_MEMORY_MIB}`),
    maxmem: z
      .int()
      .min(1)
      .max(MAX_MEMORY_MIB)
      .optional()
      .describe('Maximum memory in MiB (more than memory starts the guest ballooned down; less is taken, as xl takes it, and the guest gets memory); default memory'),
    vcpus: z
      .int()
      .min(0)
      .max(MAX_CONFIG_VCPUS)
      .optional()
      .describe(`vCPUs online at start; default 1. 0: vCPU 0 still runs but is marked offline, as libxl does; more than ${MAX_VCPUS} fails the create`),
    maxvcpus: z
      .int()
      .min(0)
      .max(MAX_CONFIG_VCPUS)
      .optional()
      .describe(`vCPUs the guest may bring up (>= vcpus; xenemu runs at most ${MAX_VCPUS}); default (and 0) vcpus, at least 1`),
    cpus: cpuList.describe('Hard affinity: host CPUs the vCPUs may run on ("0-3,^2"), or one such string per vCPU'),
    cpus_soft: cpuList.describe('Soft affinity, as cpus'),
    cpu_weight: z.int().min(1).max(65535).default(256).describe('Credit scheduler weight'),
    cap: z.int().min(0).max(0xffff).default(0).describe('CPU cap in percent of one host CPU; 0 means no cap'),
    on_poweroff: action('destroy', 'powers off'),
    on_reboot: action('restart', 'reboots'),
    on_watchdog: action('destroy', 'is stopped by its watchdog'),
    on_crash: action('destroy', 'crashes'),
    on_soft_reset: action('soft-reset', 'does a soft reset (kexec)'),
    viridian: z
      .union(
        [
          z.boolean(),
          z.array(
            z.enum(VIRIDIAN_ITEMS, {
              error: (iss) =>
                `${JSON.stringify(iss.input)} is not an enlightenment: use "defaults", "all", or one of ${VIRIDIAN_ENLIGHTENMENTS.join(', ')}, with a "!" in front to turn one off`,
            }),
          ),
        ],
        { error: 'viridian is true/false or a list of enlightenments ("defaults", "all", "base", "!hcall_ipi", ...)' },
      )
      .default(false)
      .describe('HVM only: Hyper-V enlightenments'),
    kernel: optionalPath('kernel').describe('Kernel image (direct boot); informational for the emulated kernel'),
    ramdisk: optionalPath('ramdisk'),
    cmdline: xenstoreValue('cmdline').optional().describe('Kernel command line; when set, root and extra are ignored'),
    root: xenstoreValue('root').optional().describe('Appends root=VALUE to the kernel command line'),
    extra: xenstoreValue('extra').optional().describe('Appended to the kernel command line'),
    bootloader: optionalPath('bootloader').describe('PV bootloader program, e.g. pygrub'),
    bootloader_args: z.array(z.string()).optional(),
    max_event_channels: z.int().min(1).max(131071).default(1023),
    max_grant_frames: z.int().min(1).max(0x7fffffff).default(64).describe("Grant table frames; default 64, the hypervisor's gnttab_max_frames"),
    max_maptrack_frames: z.int().min(0).max(0x7fffffff).default(1024).describe("Default 1024, the hypervisor's gnttab_max_maptrack_frames"),
    driver_domain: z.boolean().default(false).describe('Build the domain as a driver domain (it may run backends)'),
    disk: z.array(DiskItem).default([]).describe('Virtual disks: DISKSPEC strings or mappings'),
    vif: z.array(VifItem).default([]).describe('Virtual NICs: vifspec strings or mappings'),
    xenemu: XenemuObject,
  })
  .describe('A xenemu domain config. Keys are xl.cfg(5) keys; emulation settings live under xenemu.');

export type DomainConfigInput = z.input<typeof DomainConfigInputSchema>;
type Parsed = z.output<typeof DomainConfigInputSchema>;

/** Fill the defaults that depend on other keys, and check what spans keys. */
function finish(c: Parsed, ctx: z.core.$RefinementCtx<Parsed>) {
  const fail = (path: (string | number)[], message: string): void => {
    ctx.issues.push({ code: 'custom', message, input: c, path });
  };
  // maxmem below memory is taken as xl and libxl take it (lintConfig warns): the guest
  // is built with memory, and maxmem is its memory/static-max.
  const memory = c.memory ?? c.maxmem ?? DEFAULT_MEMORY_MIB;
  const maxmem = c.maxmem ?? memory;
  // parse_config_data(): maxvcpus 0 or absent is vcpus; libxl makes a max_vcpus of 0 one
  // (libxl__domain_build_info_setdefault). vcpus 0 leaves every vCPU marked offline.
  const vcpus = c.vcpus ?? 1;
  const maxvcpus = (c.maxvcpus || vcpus) || 1;
  if ((c.maxvcpus || vcpus) < vcpus) fail(['vcpus'], `vcpus (${vcpus}) is more than maxvcpus (${maxvcpus}): raise maxvcpus or lower vcpus`);

  const cmdline = kernelCommandLine(c);
  if (cmdline !== undefined) {
    const bytes = Buffer.byteLength(cmdline);
    const at = c.cmdline !== undefined ? 'cmdline' : c.extra !== undefined ? 'extra' : 'root';
    // start_info.cmd_line is MAX_GUEST_CMDLINE bytes with its NUL (xen/include/public/xen.h):
    // libxc would cut a longer PV command line short; xenemu says so instead.
    if (c.type === 'pv' && bytes > MAX_GUEST_CMDLINE - 1) {
      fail([at], `the kernel command line is ${bytes} bytes; a PV guest's start_info holds at most ${MAX_GUEST_CMDLINE - 1} (cmd_line[${MAX_GUEST_CMDLINE}] with its NUL)`);
    } else if (c.cmdline === undefined && bytes > XENSTORE_VALUE_MAX) {
      fail([at], `the kernel command line "root=... extra" is ${bytes} bytes; XenStore holds values of at most ${XENSTORE_VALUE_MAX} bytes (its default quota-maxsize)`);
    }
  }

  const seen = new Map<number, number>();
  c.disk.forEach((d, i) => {
    const prev = seen.get(d.devid);
    if (prev !== undefined) {
      fail(['disk', i, 'vdev'], `${d.vdev} is the same device (${d.devid}) as disk[${prev}] (${c.disk[prev]!.vdev})`);
    }
    seen.set(d.devid, i);
  });

  const seed = c.uuid ?? c.name;
  const vifIds = new Map<number, number>();
  const vif = c.vif.map((v, i) => {
    const devid = v.devid ?? i;
    const prev = vifIds.get(devid);
    if (prev !== undefined) fail(['vif', i, 'devid'], `devid ${devid} is already used by vif[${prev}]`);
    vifIds.set(devid, i);
    return finishVif(v, seed, devid, c.type);
  });

  const names = new Map<string, number>();
  c.xenemu.events.forEach((e, i) => {
    if (e.vcpu !== undefined && e.vcpu >= maxvcpus) {
      const have = maxvcpus === 1 ? 'only vCPU 0' : `vCPUs 0-${maxvcpus - 1}`;
      fail(['xenemu', 'events', i, 'vcpu'], `vcpu ${e.vcpu} does not exist: the domain has ${have} (raise maxvcpus to add more)`);
    }
    const prev = names.get(e.name);
    if (prev !== undefined) fail(['xenemu', 'events', i, 'name'], `event source "${e.name}" is already defined by xenemu.events[${prev}]`);
    names.set(e.name, i);
  });

  const opt = <K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } => (v === undefined ? {} : ({ [k]: v } as { [P in K]?: V }));
  return {
    name: c.name,
    type: c.type,
    ...opt('uuid', c.uuid),
    memory,
    maxmem,
    vcpus,
    maxvcpus,
    ...opt('cpus', c.cpus),
    ...opt('cpus_soft', c.cpus_soft),
    cpu_weight: c.cpu_weight,
    cap: c.cap,
    on_poweroff: c.on_poweroff,
    on_reboot: c.on_reboot,
    on_watchdog: c.on_watchdog,
    on_crash: c.on_crash,
    on_soft_reset: c.on_soft_reset,
    viridian: c.viridian,
    ...opt('kernel', c.kernel),
    ...opt('ramdisk', c.ramdisk),
    ...opt('cmdline', c.cmdline),
    ...opt('root', c.root),
    ...opt('extra', c.extra),
    ...opt('bootloader', c.bootloader),
    ...opt('bootloader_args', c.bootloader_args),
    max_event_channels: c.max_event_channels,
    max_grant_frames: c.max_grant_frames,
    max_maptrack_frames: c.max_maptrack_frames,
    driver_domain: c.driver_domain,
    disk: c.disk,
    vif,
    xenemu: {
      hz: c.xenemu.hz,
      callback: c.xenemu.callback,
      events: c.xenemu.events.map((e) => ({ name: e.name, rate: e.rate, handler: e.handler, ...opt('vcpu', e.vcpu) })),
      faults: c.xenemu.faults,
    },
  };
}

/** Input → normalised DomainConfig: every default filled in, specs in structured form. */
export const DomainConfigSchema = DomainConfigInputSchema.transform(finish);

/** A domain config with every default filled in and every device in structured form. */
export type DomainConfig = z.output<typeof DomainConfigSchema>;
/** One virtual disk, structured (the normalised form of a DISKSPEC). */
export type DiskSpec = DomainConfig['disk'][number];
/** One virtual NIC, structured (the normalised form of a vifspec). */
export type VifSpec = DomainConfig['vif'][number];
/** One synthetic event source (xenemu extension). */
export type EventSource = DomainConfig['xenemu']['events'][number];

/** Keys of the mappings the schema has, for "did you mean" on unknown keys. */
export const TOP_LEVEL_KEYS = Object.keys(DomainConfigInputSchema.shape);
export const XENEMU_KEYS = Object.keys(XenemuObject.unwrap().shape);
export const DISK_KEYS = Object.keys(DiskObject.in.shape);
export const VIF_OBJECT_KEYS = Object.keys(VifObject.shape);
export const EVENT_OBJECT_KEYS = Object.keys(EventObject.shape);
export const FAULT_OBJECT_KEYS = Object.keys(FaultConfigObject.shape).filter((k) => k !== 'target');

/** The keys valid in the mapping at `path` (for unknown-key messages). */
export function knownKeysAt(path: readonly (string | number)[]): readonly string[] {
  const p = path.filter((x) => typeof x === 'string');
  const last = p.join('.');
  if (last === '') return TOP_LEVEL_KEYS;
  if (last === 'xenemu') return XENEMU_KEYS;
  if (last === 'disk') return DISK_KEYS;
  if (last === 'vif') return VIF_OBJECT_KEYS;
  if (last === 'xenemu.events') return EVENT_OBJECT_KEYS;
  if (last === 'xenemu.faults') return FAULT_OBJECT_KEYS;
  return [];
}
