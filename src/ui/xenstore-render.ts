import {
  xsValueBytes,
  type ChmodResult,
  type ControlReply,
  type ExistsResult,
  type ListResult,
  type LsResult,
  type MkdirResult,
  type ReadResult,
  type RmResult,
  type ToolFailure,
  type WriteResult,
} from '../client/xenstore-tools.js';
import { escapeValue } from './xenstore-escape.js';
import { lsLayout, renderLs } from './xenstore-ls.js';

/**
 * What a xenstore tool prints for a result: stdout as a byte string, stderr messages
 * without the program name (the front end adds "xenstore-read: " or "xenemu: "), and
 * the exit status.
 */
export interface ToolOutput {
  stdout: string;
  stderr: string[];
  exitCode: number;
}

function finish(stdout: string, error: ToolFailure | undefined, warnings: string[] = []): ToolOutput {
  return { stdout, stderr: error ? [...warnings, error.message] : warnings, exitCode: error ? 1 : 0 };
}

/** xenstore-read: one escaped value per line; -p prefixes `key: `; -R prints the raw bytes, no newline. */
export function renderRead(r: ReadResult, opts: { prefix: boolean; raw: boolean }): ToolOutput {
  let out = '';
  for (const e of r.entries) {
    if (opts.prefix) out += `${e.path}: `;
    const bytes = xsValueBytes(e);
    out += opts.raw ? bytes.toString('latin1') : `${escapeValue(bytes)}\n`;
  }
  return finish(out, r.error);
}

/** xenstore-list: one child per line; -p prints `key/child` (even for "/", giving "//child"). */
export function renderList(r: ListResult, opts: { prefix: boolean }): ToolOutput {
  let out = '';
  for (const l of r.lists) for (const child of l.children) out += opts.prefix ? `${l.path}/${child}\n` : `${child}\n`;
  return finish(out, r.error);
}

export function renderLsOutput(r: LsResult, opts: { flat: boolean; perms: boolean; ttyColumns: number | undefined }): ToolOutput {
  const { stdout, warnings } = renderLs(r, lsLayout(opts.flat, opts.perms, opts.ttyColumns));
  return finish(stdout, r.error, warnings);
}

/** xenstore-exists prints nothing: the answer is the exit status. */
export function renderExists(r: ExistsResult): ToolOutput {
  return { stdout: '', stderr: [], exitCode: r.exists ? 0 : 1 };
}

/** write, rm, chmod and mkdir print nothing unless they fail. */
export function renderSilent(r: WriteResult | RmResult | ChmodResult | MkdirResult): ToolOutput {
  return finish('', r.error);
}

/** xenstore-control prints a non-empty reply and a newline. */
export function renderControl(r: ControlReply): ToolOutput {
  return { stdout: r.reply.length > 0 ? `${r.reply}\n` : '', stderr: [], exitCode: 0 };
}
