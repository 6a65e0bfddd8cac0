import { atoi } from '../common/c-number.js';
import { getoptLong, type LongOption } from './getopt.js';

/**
 * The command lines of the xenstore-* tools (xenstore_client.c main(), Xen 4.17): the
 * modes, their options, their usage texts, and the checks that end in a usage error.
 * Every front end (the multi-call shim, `xenemu xenstore <mode>` on its fast path and
 * through oclif) turns its arguments into one ToolRequest with `toolRequest`.
 */

/** The modes of the C multi-call binary. */
export const C_MODES = ['read', 'write', 'ls', 'list', 'exists', 'rm', 'chmod', 'watch'] as const;
export type CMode = (typeof C_MODES)[number];
/** xenemu adds mkdir, which the C tools lack (libxenstore has xs_mkdir). */
export type ToolMode = CMode | 'mkdir';

export function isCMode(mode: string): mode is CMode {
  return (C_MODES as readonly string[]).includes(mode);
}

/** Everything a tool run needs. Strings are byte strings (see toByteString). */
export interface ToolRequest {
  mode: ToolMode;
  operands: string[];
  /** -p: read/list prefix the key, ls prints permissions. */
  prefix: boolean;
  /** -R: read prints raw bytes, write takes the value as is. */
  raw: boolean;
  /** -f: ls prints full paths. */
  flat: boolean;
  /** -t: rm removes emptied parents. */
  tidy: boolean;
  /** -u: chmod also sets the ancestors. */
  upto: boolean;
  /** -r: chmod also sets the descendants. */
  recurse: boolean;
  /** -n: watch exits after this many events; -1 for never. */
  number: number;
}

export const DEFAULT_FLAGS = { prefix: false, raw: false, flat: false, tidy: false, upto: false, recurse: false, number: -1 };

/** The option part of each usage line, from the 4.17 binary (note exists reuses list's). */
const USAGE: Record<CMode, string> = {
  read: '[-h] [-p] [-s] [-R] key [...]',
  write: '[-h] [-s] [-R] key value [...]',
  rm: '[-h] [-s] [-t] key [...]',
  exists: '[-h] [-p] [-s] key [...]',
  list: '[-h] [-p] [-s] key [...]',
  ls: '[-h] [-f] [-p] [-s] [path]',
  chmod: '[-h] [-u] [-r] [-s] key <mode [modes...]>',
  watch: '[-h] [-n NR] key',
};

/**
 * The C tool a mode mirrors, whose name `xenemu xenstore <mode>` prints its messages
 * under (`xenstore-read: couldn't read path /x`), as the tool itself would.
 */
export function toolName(mode: string): string {
  return `xenstore-${mode}`;
}

/** "Usage: xenstore-read [-h] ..." or, for the multi-call form, "Usage: xenstore read [-h] ...". */
export function usageText(mode: CMode, progname: string, inclMode: boolean): string {
  return `Usage: ${progname} ${inclMode ? `${mode} ` : ''}${USAGE[mode]}`;
}

/** The multi-call binary's own usage, when it is given no mode. */
export function multiCallUsage(progname: string): string {
  return `Usage: ${progname} <mode> [-h] [...]`;
}

const OPTSTRING = 'hfspturn:R';
const LONG_OPTIONS: readonly LongOption[] = [
  { name: 'help', hasArg: false, short: 'h' },
  { name: 'flat', hasArg: false, short: 'f' },
  { name: 'prefix', hasArg: false, short: 'p' },
  { name: 'tidy', hasArg: false, short: 't' },
  { name: 'upto', hasArg: false, short: 'u' },
  { name: 'recurse', hasArg: false, short: 'r' },
  { name: 'number', hasArg: true, short: 'n' },
  { name: 'raw', hasArg: false, short: 'R' },
];

/** Which modes accept each option; any other mode stops with its usage. */
const OPTION_MODES: Record<string, readonly CMode[]> = {
  f: ['ls'],
  p: ['read', 'list', 'ls'],
  t: ['rm'],
  u: ['chmod'],
  r: ['chmod'],
  n: ['watch'],
  R: ['read', 'write'],
};

/**
 * Check the operand count as main() does and build the request; null means the tool
 * prints its usage and exits 1 (write needs key/value pairs; every mode but ls needs
 * at least one operand).
 */
export function toolRequest(mode: ToolMode, flags: Partial<typeof DEFAULT_FLAGS>, operands: string[]): ToolRequest | null {
  if (mode === 'write' && operands.length % 2 === 1) return null;
  if (mode !== 'ls' && operands.length === 0) return null;
  return { mode, operands, ...DEFAULT_FLAGS, ...flags };
}

export interface ParsedToolArgs {
  /** getopt's complaints, already prefixed with its argv[0]; printed before anything else. */
  diagnostics: string[];
  /** null: print the usage and exit 1. */
  request: ToolRequest | null;
}

/**
 * Parse a C tool's arguments with its getopt_long call. `argv[0]` is what getopt names
 * in its messages: the program for `xenstore-read`, the mode word for `xenstore read`.
 */
export function parseToolArgs(mode: CMode, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedToolArgs {
  const diagnostics: string[] = [];
  const flags = { ...DEFAULT_FLAGS };
  const options = getoptLong(argv, OPTSTRING, LONG_OPTIONS, env);
  let step = options.next();
  for (; !step.done; step = options.next()) {
    const ev = step.value;
    if (ev.kind === 'error') {
      // The tool's switch has no case for '?': it goes on.
      diagnostics.push(ev.diagnostic);
      continue;
    }
    if (ev.opt === 'h') return { diagnostics, request: null };
    // -s (use the socket) is accepted by every mode and means nothing any more.
    if (ev.opt === 's') continue;
    if (!OPTION_MODES[ev.opt]?.includes(mode)) return { diagnostics, request: null };
    switch (ev.opt) {
      case 'f':
        flags.flat = true;
        break;
      case 'p':
        flags.prefix = true;
        break;
      case 't':
        flags.tidy = true;
        break;
      case 'u':
        flags.upto = true;
        break;
      case 'r':
        flags.recurse = true;
        break;
      case 'n':
        flags.number = atoi(ev.arg ?? '');
        break;
      case 'R':
        flags.raw = true;
        break;
    }
  }
  return { diagnostics, request: toolRequest(mode, flags, step.value) };
}

/**
 * Node decodes argv as UTF-8; the tools work on bytes. A byte string (one char per
 * byte) keeps the exact bytes on the wire and in what we print. Bytes that were not
 * valid UTF-8 are already lost by then: Node gives no access to the raw argv.
 */
export function toByteString(s: string): string {
  // Pure ASCII, the usual case, is its own byte string.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'utf8').toString('latin1');
  return s;
}
