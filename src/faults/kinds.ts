/**
 * The faults `xenemu fault add` can make happen: the KIND words scripts rely on, what
 * each does, and which options it takes. A kind not listed here is refused by name.
 */

export const FAULT_KINDS = {
  'xs-eagain': 'transaction commits fail with EAGAIN (all, or those writing under --path)',
  'xs-errno': 'requests get --errno instead of their answer (all, or those naming a path under --path, or of --op)',
  'xs-delay': 'replies and watch events reach their client --delay late, in order',
  'xs-watch-delay': 'watch events reach their client --delay late; with --coalesce, repeats of a pending event are dropped',
  'xs-quota': "the target domain's XenStore quotas are lowered to --quota NAME=VALUE while the fault lasts",
  'guest-unresponsive': 'the guest ignores control/shutdown: nobody acknowledges a shutdown or reboot request',
  'guest-crash': 'the guest crashes (after --delay, if given), and its on_crash action runs',
  'guest-slow-boot': "the guest's kernel starts booting --delay after the domain is unpaused",
  'guest-leak': 'the guest writes a new node under its data/ every --every (1 s), never removing one, until its quota stops it',
  'vcpu-hang': 'vCPU --vcpu (0) of the guest stops taking interrupts: its events stay pending until the fault ends',
  'hotplug-fail': "hotplug scripts of the target's devices (of every domain's, without one) fail with status 1",
  'disk-error': "the target's disks (or --vdev's) answer BLKIF_RSP_ERROR, for requests touching --sectors START-END or with --probability",
  'disk-slow': "the target's disks take --delay longer for each request",
  'backend-die': "the backend of the target's disks (or --vdev's) dies: Closing, with an error node, as a failed blkback leaves it",
  'net-drop': "the target's NICs (or --vif N's) lose frames, both ways, with --probability",
  'net-delay': "the target's NICs carry frames --delay late, both ways",
  'net-corrupt': "the target's NICs flip a byte of frames, both ways, with --probability",
  'host-kill': 'the daemon kills itself (SIGKILL) at --at flush (the --after-th journal write) or --at create (mid-way through the --after-th domain create)',
} as const;

export type FaultKind = keyof typeof FAULT_KINDS;

export function isFaultKind(word: string): word is FaultKind {
  return Object.hasOwn(FAULT_KINDS, word);
}

/** Kinds that apply to one domain and need it named. */
export const NEEDS_DOMAIN: ReadonlySet<FaultKind> = new Set(['xs-quota', 'guest-unresponsive', 'guest-crash', 'guest-slow-boot', 'guest-leak', 'vcpu-hang', 'net-drop', 'net-delay', 'net-corrupt', 'disk-error', 'disk-slow', 'backend-die']);

/** Kinds about the host itself, aimed at nothing. */
export const HOST_WIDE: ReadonlySet<FaultKind> = new Set(['host-kill']);

/** Kinds that act once when added (or after --delay) rather than on each matching event. */
export const ONE_SHOT: ReadonlySet<FaultKind> = new Set(['guest-crash', 'host-kill', 'backend-die']);

/** Kinds that hold a state while active rather than firing on events: probability and count mean nothing. */
export const STATEFUL: ReadonlySet<FaultKind> = new Set(['xs-quota', 'vcpu-hang']);

/** The kind-specific options (FaultRow.options keys): which each kind needs and which it takes. */
export type FaultOption = 'errno' | 'op' | 'path' | 'delayMs' | 'intervalMs' | 'coalesce' | 'quota' | 'vcpu' | 'at' | 'after' | 'vif' | 'vdev' | 'sectors';

export const KIND_OPTIONS: Readonly<Record<FaultKind, { required: readonly FaultOption[]; optional: readonly FaultOption[] }>> = {
  'xs-eagain': { required: [], optional: ['path'] },
  'xs-errno': { required: ['errno'], optional: ['op', 'path'] },
  'xs-delay': { required: ['delayMs'], optional: [] },
  'xs-watch-delay': { required: ['delayMs'], optional: ['coalesce'] },
  'xs-quota': { required: ['quota'], optional: [] },
  'guest-unresponsive': { required: [], optional: [] },
  'guest-crash': { required: [], optional: ['delayMs'] },
  'guest-slow-boot': { required: ['delayMs'], optional: [] },
  'guest-leak': { required: [], optional: ['intervalMs'] },
  'vcpu-hang': { required: [], optional: ['vcpu'] },
  'hotplug-fail': { required: [], optional: [] },
  'disk-error': { required: [], optional: ['vdev', 'sectors'] },
  'disk-slow': { required: ['delayMs'], optional: ['vdev'] },
  'backend-die': { required: [], optional: ['vdev'] },
  'net-drop': { required: [], optional: ['vif'] },
  'net-delay': { required: ['delayMs'], optional: ['vif'] },
  'net-corrupt': { required: [], optional: ['vif'] },
  'host-kill': { required: ['at'], optional: ['after'] },
};

/** Where host-kill can strike. */
export const KILL_POINTS = ['flush', 'create'] as const;
