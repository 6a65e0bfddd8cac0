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
} as const;

export type FaultKind = keyof typeof FAULT_KINDS;

export function isFaultKind(word: string): word is FaultKind {
  return Object.hasOwn(FAULT_KINDS, word);
}

/** Kinds that apply to one domain and need it named. */
export const NEEDS_DOMAIN: ReadonlySet<FaultKind> = new Set(['xs-quota', 'guest-unresponsive', 'guest-crash']);

/** Kinds that act once when added (or after --delay) rather than on each matching event. */
export const ONE_SHOT: ReadonlySet<FaultKind> = new Set(['guest-crash']);

/** Kinds that hold a state while active rather than firing on events: probability and count mean nothing. */
export const STATEFUL: ReadonlySet<FaultKind> = new Set(['xs-quota']);

/** The kind-specific options (FaultRow.options keys): which each kind needs and which it takes. */
export type FaultOption = 'errno' | 'op' | 'path' | 'delayMs' | 'coalesce' | 'quota';

export const KIND_OPTIONS: Readonly<Record<FaultKind, { required: readonly FaultOption[]; optional: readonly FaultOption[] }>> = {
  'xs-eagain': { required: [], optional: ['path'] },
  'xs-errno': { required: ['errno'], optional: ['op', 'path'] },
  'xs-delay': { required: ['delayMs'], optional: [] },
  'xs-watch-delay': { required: ['delayMs'], optional: ['coalesce'] },
  'xs-quota': { required: ['quota'], optional: [] },
  'guest-unresponsive': { required: [], optional: [] },
  'guest-crash': { required: [], optional: ['delayMs'] },
};
