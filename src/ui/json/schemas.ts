/**
 * What every `--json` prints, one zod schema per command: the public, documented shape
 * (README "JSON output"), from which schemas/<command>.json is generated
 * (scripts/gen-json-schemas.ts; a test checks the files are current and validates every
 * command's real output against its file).
 *
 * One vocabulary everywhere, camelCase:
 * - `domid` and `name` for a domain (at the top level of an object about a domain);
 *   `vcpu` for a guest vCPU's number, `pcpu` for a host CPU's;
 * - memory in KiB, named `memKiB` (current), `maxMemKiB`, `totalMemKiB`, `freeMemKiB`;
 * - durations carry their unit: `cpuTimeNs`, `uptimeSeconds`, `intervalMs`;
 * - an affinity is always the array of the host CPUs in it, never "all";
 * - a domain's state is `state: {running, blocked, paused, shutdown, crashed, dying}`.
 * `list -l` keeps libxl's own JSON (snake_case), as `xl list -l` prints it, and `env`
 * prints environment variables under their own names.
 *
 * Only commands import the types, and only as types: zod is not loaded at run time.
 * A new `--json` command adds its schema to JSON_OUTPUTS, and the generator writes the file.
 */

import * as z from 'zod';
import { FAULT_KINDS, KILL_POINTS, type FaultKind } from '../../faults/kinds.js';

const Int = z.int();
const Count = z.int().min(0);
const Domid = z.int().min(0).max(0x7fff);
const DomainName = z.string().nullable().describe('the domain name; null when it has none (xl prints "(null)")');
const CpuList = z.array(Count).describe('host CPUs (pCPU numbers), ascending');
const KiB = Count;

export const DomainState = z
  .strictObject({
    running: z.boolean(),
    blocked: z.boolean(),
    paused: z.boolean(),
    shutdown: z.boolean(),
    crashed: z.boolean(),
    dying: z.boolean(),
  })
  .describe("xl list's state letters r, b, p, s, c (the shutdown reason crash) and d");

const ShutdownReason = z.enum(['unknown', 'poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset']);

// ---- xl verbs -----------------------------------------------------------------------

export const ListRowJson = z.strictObject({
  domid: Domid,
  name: DomainName,
  uuid: z.string(),
  memKiB: KiB,
  vcpusOnline: Count,
  state: DomainState,
  shutdownReason: ShutdownReason.nullable().describe('why it shut down; null while it has not'),
  cpuTimeNs: Count,
});

const ListLongJson = z.strictObject({ domid: Domid, config: z.looseObject({}).describe("libxl's libxl_domain_config JSON, as xl list -l prints it") });

export const VcpuRowJson = z.strictObject({
  domid: Domid,
  name: DomainName,
  vcpu: Count,
  online: z.boolean(),
  running: z.boolean(),
  blocked: z.boolean(),
  pcpu: Count.nullable().describe('the host CPU it runs on or last ran on; null while offline'),
  cpuTimeNs: Count,
  hardAffinity: CpuList,
  softAffinity: CpuList,
  vcpuInfoLocation: z.string().optional().describe('where its vcpu_info lives (shared_info slot N, or gfn 0x...+0x...)'),
});

const UptimeRowJson = z.strictObject({ domid: Domid, name: DomainName, uptimeSeconds: Count });

const FaultSummaryJson = z.strictObject({ id: Count, kind: z.string(), target: z.string().describe('a domain name or id, "socket", or "all"'), fired: Count });

const CpuTopologyJson = z.strictObject({ core: Count, socket: Count, node: Count }).nullable();
const NumaNodeJson = z.strictObject({ memKiB: KiB, freeMemKiB: KiB, distances: z.array(Count) }).nullable();
const PciTopologyJson = z.strictObject({ seg: Count, bus: Count, devfn: Count, node: Count }).nullable();

export const InfoJson = z.strictObject({
  host: z.string(),
  release: z.string(),
  version: z.string(),
  machine: z.string(),
  nrCpus: Count,
  maxCpuId: Count,
  nrNodes: Count,
  coresPerSocket: Count,
  threadsPerCore: Count,
  cpuKhz: Count,
  hwCaps: z.array(Count).describe('the eight 32-bit words xl prints as hw_caps'),
  caps: z
    .strictObject({
      pv: z.boolean(),
      hvm: z.boolean(),
      hvmDirectio: z.boolean(),
      hap: z.boolean(),
      shadow: z.boolean(),
      iommuHapPtShare: z.boolean(),
      vmtrace: z.boolean(),
      vpmu: z.boolean(),
      gnttabV1: z.boolean(),
      gnttabV2: z.boolean(),
    })
    .describe("libxl_physinfo's cap_* flags (xl's virt_caps)"),
  totalMemKiB: KiB,
  freeMemKiB: KiB,
  sharingFreedMemKiB: KiB,
  sharingUsedMemKiB: KiB,
  outstandingClaimsKiB: KiB,
  freeCpus: CpuList.optional(),
  xen: z
    .strictObject({
      major: Count,
      minor: Count,
      extra: z.string(),
      version: z.string().describe('major.minor + extra, as xl prints xen_version'),
      caps: z.string(),
      pagesize: Count,
      virtStart: z.string().describe('a decimal string: it may exceed 2^53'),
      changeset: z.string(),
      commandline: z.string(),
      compiler: z.string(),
      compileBy: z.string(),
      compileDomain: z.string(),
      compileDate: z.string(),
      buildId: z.string(),
    })
    .optional(),
  scheduler: z.string(),
  cpuTopology: z.array(CpuTopologyJson).optional(),
  pciTopology: z.array(PciTopologyJson).optional(),
  numaInfo: z.array(NumaNodeJson).optional(),
});

// ---- interrupts and event channels ----------------------------------------------------

const Handler = z.enum(['filter', 'ithread', 'both', 'none']);
const GuestType = z.enum(['pv', 'pvh', 'hvm']);

const HostIntrRowJson = z.strictObject({
  domid: Domid,
  name: DomainName,
  type: GuestType,
  callback: z.string(),
  vcpus: Count,
  vcpusOnline: Count,
  portsInUse: Count,
  upcalls: Count,
  interrupts: Count,
  uptimeNs: Count,
  filterNs: Count,
  ithreadNs: Count,
  modelledNs: Count,
  apicNs: Count,
  raises: Count,
  coalesced: Count,
  booted: z.boolean(),
});

const IntrRowJson = z.strictObject({
  intrname: z.string().describe("vmstat -i's name"),
  name: z.string().describe("the interrupt source's name"),
  kind: z.enum(['upcall', 'port', 'virq', 'ipi', 'pirq', 'lapic-timer']),
  irq: Count.nullable(),
  port: Count.nullable(),
  virq: Count.nullable(),
  vcpu: Count.nullable(),
  handler: Handler,
  total: Count,
  perVcpu: z.array(Count).describe('counts by vCPU number'),
  dispatches: Count,
  filterNs: Count,
  ithreadNs: Count,
  ithreadRuns: Count,
  modelledNs: Count,
  apicNs: Count,
  stray: Count,
});

const DomainIntrJson = z.strictObject({
  domid: Domid,
  name: DomainName,
  type: GuestType,
  uptimeNs: Count,
  callback: z.enum(['pv', 'vector', 'pci-intx']),
  vcpus: Count,
  onlineVcpus: z.array(Count).describe('the online vCPUs, by number'),
  hz: Count,
  cost: z.record(z.string(), z.number()).describe('the cost model, in ns or accesses per event'),
  rows: z.array(IntrRowJson),
  hypervisor: z.strictObject({
    injected: z.array(Count),
    intxAssertions: Count,
    sends: Count,
    raises: Count,
    coalesced: Count,
    masked: Count,
    kicks: Count,
    portsInUse: Count,
  }),
});

export const EvtchnPortJson = z.strictObject({
  port: Count,
  status: z.enum(['closed', 'unbound', 'interdomain', 'pirq', 'virq', 'ipi']),
  vcpu: Count.describe('the vCPU it notifies'),
  remoteDomid: Domid.optional(),
  remotePort: Count.optional(),
  virq: Count.optional(),
  pirq: Count.optional(),
  masked: z.boolean(),
  pending: z.boolean(),
  source: z.strictObject({ name: z.string(), intrname: z.string(), irq: Count, handler: Handler, vcpu: Count, total: Count }).nullable(),
  device: z.boolean(),
  notifications: Count.optional(),
});

// ---- the host -------------------------------------------------------------------------

const HostStatusJson = z.looseObject({
  pid: Count,
  version: z.string(),
  home: z.string(),
  socket: z.string(),
  socketRo: z.string(),
  control: z.string(),
  startedAt: z.string(),
  uptimeSeconds: Count,
  nodes: Count,
  connections: Count,
  domains: Count,
  rssBytes: Count,
  persistence: z.record(z.string(), z.union([z.number(), z.string()])),
  recovery: z.looseObject({}).nullable(),
  faults: z.array(FaultSummaryJson).describe('faults in force'),
});

// ---- faults ---------------------------------------------------------------------------

const FaultJson = z.strictObject({
  id: Count,
  kind: z.enum(Object.keys(FAULT_KINDS) as [FaultKind, ...FaultKind[]]),
  target: z.union([z.strictObject({ domid: Domid, name: DomainName }), z.literal('socket'), z.null()]).describe('a domain, the socket clients, or null for every client'),
  probability: z.number().gt(0).lte(1),
  count: Count.nullable().describe('it ends after firing this many times; null: no limit'),
  durationMs: Count.nullable().describe('how long it lasts from its start; null: until cleared'),
  seed: Count,
  options: z.strictObject({
    errno: z.string().optional(),
    op: z.string().optional(),
    path: z.string().optional(),
    delayMs: Count.optional(),
    intervalMs: Count.optional(),
    coalesce: z.boolean().optional(),
    quota: z.record(z.string(), Count).optional(),
    vcpu: Count.optional(),
    at: z.enum(KILL_POINTS).optional(),
    after: Count.optional(),
    vif: Count.optional(),
    vdev: z.string().optional(),
    sectors: z.string().optional(),
  }),
  fired: Count,
  ageMs: Count.describe('how long it has been in force'),
});

// ---- top ------------------------------------------------------------------------------

const TopDomainJson = z.strictObject({
  domid: Domid,
  name: z.string(),
  state: DomainState,
  cpuTimeNs: Count,
  cpuPct: z.number(),
  memKiB: KiB,
  maxMemKiB: KiB.nullable().describe('null: no maximum'),
  vcpus: Count,
  vcpusOnline: Count,
  nets: z.array(z.looseObject({})),
  vbds: z.array(z.looseObject({})),
  ssid: Count,
  eventsPerSec: z.number().describe("interrupts per second the domain's kernel handled (top's EVTS/s, its grid's total)"),
  vcpuTimeNs: z.array(Count.nullable()).optional().describe('with -v: CPU time by vCPU, null for an offline one'),
});

export const TopFrameJson = z.strictObject({
  seq: Count,
  timeMs: Count,
  elapsedNs: Count,
  intervalMs: Count,
  host: z.strictObject({
    hostname: z.string(),
    xenVersion: z.string(),
    pcpus: Count,
    cpuMhz: Count,
    totalMemKiB: KiB,
    freeMemKiB: KiB,
    uptimeSeconds: Count,
    faults: z.array(FaultSummaryJson).describe('faults in force'),
  }),
  domains: z.array(TopDomainJson),
});

// ---- xenstore -------------------------------------------------------------------------

const XsFailure = z.strictObject({ message: z.string(), path: z.string().optional(), errno: z.string().optional() }).optional();
const XsValue = { value: z.string().nullable(), encoding: z.enum(['utf8', 'base64']) };

// ---- disks and XenBus ------------------------------------------------------------------

const XenbusState = Count.describe('a XenbusState: 1 Initialising, 2 InitWait, 3 Initialised, 4 Connected, 5 Closing, 6 Closed');

const NicJson = z.strictObject({
  devid: Count.describe('the vif\'s device number (its handle)'),
  backendDomid: Domid,
  mac: z.string().describe('the guest\'s MAC, lower case'),
  state: XenbusState.describe("the frontend's XenbusState"),
  backendState: XenbusState.describe("the backend's XenbusState"),
  port: Count.nullable().describe("the frontend's event-channel; null while not connected or with split tx/rx channels (xl prints -1)"),
  txRingRef: Count.nullable().describe('the grant of the tx ring; null while not connected'),
  rxRingRef: Count.nullable().describe('the grant of the rx ring; null while not connected'),
  frontendPath: z.string(),
  backendPath: z.string(),
  bridge: z.string(),
  ip: z.string().nullable(),
  stats: z
    .strictObject({ txPackets: Count, txBytes: Count, txDropped: Count, txErrors: Count, rxPackets: Count, rxBytes: Count, rxDropped: Count })
    .optional()
    .describe("netback's counters from the guest's side (tx = what the guest sent), while connected"),
});

const BlockDiskJson = z.strictObject({
  devid: Count.describe("the vdev's device number (51712 for xvda)"),
  vdev: z.string(),
  backendDomid: Domid,
  state: XenbusState.describe("the frontend's XenbusState"),
  backendState: XenbusState.describe("the backend's XenbusState"),
  port: Count.nullable().describe("the frontend's event channel; null while not connected (xl prints -1)"),
  ringRef: Count.nullable().describe('the grant of the ring; null while not connected or with a multi-page ring (xl prints -1)'),
  frontendPath: z.string(),
  backendPath: z.string(),
  target: z.string().describe('the image (or device) the backend serves'),
  mode: z.string().describe('r or w'),
  deviceType: z.string().describe('disk or cdrom'),
  stats: z
    .strictObject({
      reads: Count,
      writes: Count,
      readSectors: Count,
      writeSectors: Count,
      outOfRequests: Count,
      flushes: Count,
      discards: Count,
      errors: Count,
      inFlight: Count,
      sectors: Count,
      sectorSize: Count,
      ringPages: Count,
    })
    .optional()
    .describe("the backend's counters (512-byte sectors), once it publishes them"),
});

const BlockIoJson = z.strictObject({
  domid: Domid,
  name: DomainName,
  op: z.enum(['read', 'write', 'verify', 'copy']),
  vdev: z.string(),
  dest: z.string().optional().describe('copy: the destination disk'),
  offset: Count,
  length: Count,
  blockSize: Count,
  queueDepth: Count,
  pattern: z.enum(['offset', 'random', 'zero', 'data']).describe('data: the bytes of --from'),
  ios: Count,
  bytes: Count,
  seconds: z.number().min(0),
  mbPerSec: z.number().min(0),
  iops: z.number().min(0),
  latencyUs: z.strictObject({ p50: z.number().min(0), p99: z.number().min(0), max: z.number().min(0) }).describe('per-block latency percentiles, µs'),
  flushed: z.boolean(),
  random: z.boolean(),
  mismatches: Count.optional().describe('verify: blocks whose bytes differ'),
  firstMismatch: Count.optional().describe("verify: the first differing byte's disk offset"),
  to: z.string().optional().describe('read --to: the host file written'),
});

const XenbusDeviceJson = z.strictObject({
  bus: z.string().describe('xenbusb_front, xenbusb_back or xenstore'),
  node: z.string().describe("below the kernel's home: device/vbd/51712"),
  xenstorePath: z.string(),
  type: z.string(),
  state: XenbusState.nullable().describe('null for a child of xenstore'),
  stateName: z.string().nullable(),
  otherendPath: z.string().nullable(),
  otherendId: Domid.nullable().describe("the other end's domid"),
  otherendState: XenbusState.nullable(),
  otherendStateName: z.string().nullable(),
  driver: z.string().nullable().describe('the driver that attached it; null when none took it'),
});

// ---- the registry ---------------------------------------------------------------------

/** Every command with --json (by oclif id) and what it prints. */
// ---- network -------------------------------------------------------------------------

const BridgeJson = z.strictObject({
  name: z.string(),
  ports: z.array(
    z.strictObject({
      name: z.string().describe("netback's interface name, vif<domid>.<devid>"),
      no: Count.describe('the port number, as brctl showmacs numbers ports'),
      rxFrames: Count.describe('frames that came in on the port (from its guest)'),
      rxBytes: Count,
      txFrames: Count.describe('frames the bridge handed to the port (to its guest)'),
      txBytes: Count,
      txDropped: Count.describe("frames the port refused (the guest's rx ring full)"),
    }),
  ),
  macs: z.array(z.strictObject({ mac: z.string(), port: z.string(), portNo: Count, ageSeconds: z.number().min(0).describe('since the MAC was last seen') })),
  ageingSeconds: z.number(),
  forwarded: Count,
  flooded: Count.describe('broadcast, multicast and unknown-unicast frames sent to every other port'),
  filtered: Count.describe('frames dropped: for a MAC on the port they came from, or too short'),
  capture: z.string().nullable().describe("the bridge's capture file"),
});

const PingJson = z.strictObject({
  domid: Domid,
  name: DomainName,
  dst: z.string(),
  src: z.string().nullable().describe("the guest's own address; null when its NIC has none"),
  size: Count.describe('data bytes per request (-s)'),
  transmitted: Count,
  received: Count,
  errors: Count.describe('requests answered by "Destination Host Unreachable" (no ARP reply)'),
  timeMs: Count,
  replies: z.array(z.strictObject({ seq: Count, ttl: Count, bytes: Count, rttUs: z.number().min(0) })),
  unreachable: z.array(Count).describe('icmp_seq of each unreachable request'),
  rtt: z.strictObject({ min: z.number(), avg: z.number(), max: z.number(), mdev: z.number() }).nullable().describe('microseconds; null when no reply came'),
  error: z.string().nullable().describe('why ping could not run, as it says after "ping: "'),
  exitStatus: z.int().min(0).max(2).describe("ping's exit status: 0 a reply came, 1 none did, 2 an error"),
});

export const JSON_OUTPUTS = {
  list: z.union([z.array(ListRowJson), z.array(ListLongJson).describe('with -l')]),
  'vcpu-list': z.array(VcpuRowJson),
  uptime: z.array(UptimeRowJson),
  info: InfoJson,
  domid: z.strictObject({ domid: Domid }),
  'vm-list': z.array(z.strictObject({ uuid: z.string(), domid: Domid, name: DomainName })),
  domname: z.strictObject({ name: DomainName }),
  dmesg: z.strictObject({ lines: z.array(z.string()) }),
  interrupts: z.union([z.array(HostIntrRowJson).describe('without DOM: one row per domain'), DomainIntrJson.describe('for one domain')]),
  'intr-bind': z.strictObject({ domid: Domid, source: z.string(), irq: Count, port: Count, fromVcpu: Count, toVcpu: Count }),
  'evtchn:list': z.strictObject({ domid: Domid, name: DomainName, ports: z.array(EvtchnPortJson) }),
  'evtchn:status': z.strictObject({ domid: Domid, name: DomainName, ...EvtchnPortJson.shape }),
  'evtchn:alloc-unbound': z.strictObject({ domid: Domid, port: Count, remoteDomid: Domid }),
  'evtchn:bind-interdomain': z.strictObject({ domid: Domid, port: Count, remoteDomid: Domid, remotePort: Count }),
  'evtchn:notify': z.strictObject({ domid: Domid, port: Count }),
  'evtchn:close': z.strictObject({ domid: Domid, port: Count }),
  top: TopFrameJson.describe('one object per line, one per sample'),
  'host:status': z.union([
    z.strictObject({ running: z.literal(true), status: HostStatusJson }),
    z.strictObject({ running: z.literal(false), lastStart: z.looseObject({ at: z.string() }).optional() }),
  ]),
  'host:start': z.strictObject({ started: z.boolean(), status: HostStatusJson }),
  'host:stop': z.strictObject({ stopped: z.boolean(), pid: Count.optional() }),
  env: z.strictObject({ XENEMU_HOME: z.string(), XENSTORED_PATH: z.string(), PATH: z.string().optional() }).describe('environment variables, under their own names'),
  'config:check': z.array(
    z.strictObject({
      file: z.string(),
      ok: z.boolean(),
      errors: z.array(z.strictObject({ file: z.string(), line: Int, column: Int, key: z.string(), message: z.string() })),
      warnings: z.array(z.strictObject({ file: z.string(), line: Int, column: Int, key: z.string(), message: z.string() })),
    }),
  ),
  'xenstore:read': z.strictObject({ entries: z.array(z.strictObject({ path: z.string(), ...XsValue })), error: XsFailure }),
  'xenstore:ls': z.strictObject({
    paths: z.array(z.string()),
    nodes: z.array(
      z.strictObject({
        path: z.string(),
        name: z.string(),
        depth: Count,
        ...XsValue,
        perms: z.array(z.string()).nullable().optional(),
        permsErrno: z.string().optional(),
      }),
    ),
    error: XsFailure,
  }),
  'xenstore:list': z.strictObject({ lists: z.array(z.strictObject({ path: z.string(), children: z.array(z.string()) })), error: XsFailure }),
  'block-attach': z.strictObject({ domid: Domid, devid: Count }),
  'block-list': z.array(z.strictObject({ domid: Domid, disks: z.array(BlockDiskJson) })),
  'block-detach': z.strictObject({ domid: Domid, devid: Count }),
  'block-io': BlockIoJson,
  'network-attach': z.strictObject({ domid: Domid, devid: Count, mac: z.string() }),
  'network-list': z.array(z.strictObject({ domid: Domid, nics: z.array(NicJson) })),
  'network-detach': z.strictObject({ domid: Domid, devid: Count }),
  'xenbus:list': z.strictObject({ domid: Domid, name: DomainName, devices: z.array(XenbusDeviceJson) }),
  'bridge:list': z.strictObject({ bridges: z.array(BridgeJson) }),
  'net-ping': PingJson,
  'net-inject': z.strictObject({ domid: Domid, name: DomainName, vif: z.string(), file: z.string(), frames: Count, bytes: Count, truncated: Count.describe('records the capture had cut short, delivered as captured') }),
  'net-send': z.strictObject({
    domid: Domid,
    name: DomainName,
    vif: z.string(),
    dest: z.string(),
    frameSize: Count,
    frames: Count,
    bytes: Count,
    elapsedNs: Count,
    ringFullWaits: Count.describe('times the ring was full and the sender waited'),
  }),
  'xenstore:exists': z.strictObject({ exists: z.boolean(), keys: z.array(z.strictObject({ path: z.string(), exists: z.boolean() })) }),
  'fault:add': FaultJson,
  'fault:list': z.strictObject({ faults: z.array(FaultJson) }),
  'fault:clear': z.strictObject({ cleared: z.array(Count).describe('the ids of the faults ended') }),
  save: z.strictObject({
    domid: Domid,
    name: DomainName,
    file: z.string(),
    bytes: Count.describe('the size of the file written'),
    pages: Count.describe('guest pages written (only those that exist)'),
    after: z.enum(['destroyed', 'running', 'paused']).describe('what the domain is after the save: gone, running (-c) or paused (-p)'),
  }),
  restore: z.strictObject({ domid: Domid, name: DomainName, paused: z.boolean() }),
} satisfies Record<string, z.ZodType>;

export type JsonCommand = keyof typeof JSON_OUTPUTS;
export type JsonOutput<C extends JsonCommand> = z.output<(typeof JSON_OUTPUTS)[C]>;

/** What every --json command prints instead when it fails (and exits non-zero). */
export const JSON_ERROR = z.strictObject({ error: z.strictObject({ message: z.string(), exitCode: z.int().min(1) }) });

/** schemas/<file>: the command id with its topic separators as dashes. */
export function schemaFileName(command: string): string {
  return `${command.replaceAll(':', '-')}.json`;
}

/** The JSON Schema (draft-07, the dialect ajv and editors read best) of one command's output, or with 'error' of a failure's. */
export function renderJsonSchema(command: JsonCommand | 'error'): string {
  const schema = z.toJSONSchema(command === 'error' ? JSON_ERROR : JSON_OUTPUTS[command], { io: 'output', target: 'draft-7' }) as Record<string, unknown>;
  const { $schema, ...rest } = schema;
  const title = command === 'error' ? 'xenemu --json: a failure' : `xenemu ${command.replaceAll(':', ' ')} --json`;
  return `${JSON.stringify({ $schema, title, ...rest }, null, 2)}\n`;
}
