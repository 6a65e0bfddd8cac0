/**
 * What each operand of a command is, for tab completion: a file, a domain, a XenStore
 * path, or something nothing can guess (a size, a value). Keyed by oclif's command id;
 * `args` are the first operands in order, `rest` repeats for the ones after them
 * (`xenstore write` alternates path and value); `flags` name option flags whose value
 * is one of these. A command missing here gets no operand completion. Adding a
 * command is one line.
 */

export type ArgKind = 'file' | 'domain' | 'xspath' | 'none';

export interface ArgKinds {
  args?: readonly ArgKind[];
  rest?: readonly ArgKind[];
  flags?: Readonly<Record<string, ArgKind>>;
}

const domain: ArgKinds = { args: ['domain'] };
const domains: ArgKinds = { rest: ['domain'] };
/** The xenstore tools: XenStore paths, and --domain to run as a domain. */
const asDomain = { domain: 'domain' } as const;
const paths: ArgKinds = { rest: ['xspath'], flags: asDomain };

export const ARG_KINDS: Readonly<Record<string, ArgKinds>> = {
  create: { args: ['file'], rest: ['none'], flags: { defconfig: 'file' } },
  'config:check': { rest: ['file'] },
  'config:convert': { args: ['file'], flags: { output: 'file' } },
  list: domains,
  'vcpu-list': domains,
  uptime: domains,
  destroy: domain,
  shutdown: domain,
  reboot: domain,
  pause: domain,
  unpause: domain,
  rename: domain,
  dmesg: domain,
  console: domain,
  // DOM HOST: the host is an ssh destination (or with -s '' a command), nothing to complete.
  migrate: { args: ['domain', 'none'], flags: { config: 'file' } },
  'migrate-receive': {},
  sysrq: domain,
  trigger: domain,
  // KEYS: Xen's debug-key letters, nothing to complete.
  'debug-keys': { args: ['none'] },
  'xenbus:list': domain,
  // KIND, then the domain (or "socket") it aims at.
  'fault:add': { args: ['none', 'domain'] },
  'block-io': domain,
  // The DISKSPEC after the domain is key=value words (a target= in one of them), no file name alone.
  'block-attach': domain,
  'block-list': domains,
  'block-detach': domain,
  // DOM VDEV FILE: the drive is a guest's vdev, the medium a file.
  'cd-insert': { args: ['domain', 'none', 'file'] },
  'cd-eject': domain,
  'button-press': domain,
  'vm-list': {},
  'network-attach': domain,
  'network-list': domains,
  'network-detach': domain,
  save: { args: ['domain', 'file', 'file'] },
  restore: { args: ['file', 'file'] },
  'bridge:list': {},
  'net-ping': domain,
  'net-send': domain,
  // DOM VIF FILE.pcap: the vif is a devid or a MAC, nothing to complete.
  'net-inject': { args: ['domain', 'none', 'file'] },
  'vcpu-set': domain,
  'vcpu-pin': domain,
  'mem-set': domain,
  'mem-max': domain,
  interrupts: domain,
  'intr-bind': domain,
  'evtchn:list': domain,
  'evtchn:status': domain,
  'evtchn:close': domain,
  'evtchn:notify': domain,
  'evtchn:alloc-unbound': { args: ['domain', 'domain'] },
  'evtchn:bind-interdomain': { args: ['domain', 'domain'] },
  'xenstore:read': paths,
  'xenstore:exists': paths,
  'xenstore:list': paths,
  'xenstore:ls': paths,
  'xenstore:mkdir': paths,
  'xenstore:rm': paths,
  'xenstore:watch': paths,
  'xenstore:chmod': { args: ['xspath'], rest: ['none'], flags: asDomain },
  'xenstore:write': { rest: ['xspath', 'none'], flags: asDomain },
  // The command after DOM is a program: a file name is the closest guess.
  exec: { args: ['domain'], rest: ['file'] },
};

/** The kind of operand number `n` (from 0). */
export function argKind(kinds: ArgKinds | undefined, n: number): ArgKind {
  const args = kinds?.args ?? [];
  if (n < args.length) return args[n]!;
  const rest = kinds?.rest ?? [];
  return rest.length === 0 ? 'none' : rest[(n - args.length) % rest.length]!;
}
