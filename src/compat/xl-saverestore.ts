/**
 * xl save and xl restore (tools/xl/xl_saverestore.c; restore's half of create_domain()
 * in xl_vmcontrol.c, 4.17): xl's messages on stderr in xl's order and its exit
 * statuses, the daemon writing and reading the file (saverestore-service.ts). Where
 * libxl would log why it failed, "xenemu: <reason>" says it (for a bad file: the
 * record and its offset), then xl's own line.
 */

import { resolve } from 'node:path';
import { isRpcError } from '../client/domains.js';
import { TypedClient } from '../client/typed-client.js';
import type { SaveRestoreRpc } from '../protocol/saverestore-rpc.js';
import type { XlHeaderInfo } from '../toolstack/migrate/stream-format.js';
import { findDomain, XlFailure, type XlContext, type XlOutput } from './xl-commands.js';

type HeaderFlags = Omit<XlHeaderInfo, 'configJson'>;
const flags = (h: HeaderFlags): string => `0x${h.mandatoryFlags.toString(16)}/0x${h.optionalFlags.toString(16)}/${h.optionalDataLength}`;

export interface XlSaveOptions {
  domain: string;
  file: string;
  /** Store this config file instead of the domain's. */
  config?: string;
  /** -c: leave the domain running. */
  checkpoint: boolean;
  /** -p: leave it paused. */
  pause: boolean;
  /** -D: keep the domain id in the stored config. */
  preserveDomid: boolean;
  cwd: string;
}

export interface XlSaveResult {
  domid: number;
  name: string;
  file: string;
  bytes: number;
  pages: number;
  /** What the domain is after the save: gone, running (-c) or paused (-p). */
  after: 'destroyed' | 'running' | 'paused';
}

/** main_save() + save_domain(). */
export async function xlSave(ctx: XlContext, o: XlSaveOptions): Promise<XlOutput<XlSaveResult>> {
  const client = await ctx.client();
  const domid = await findDomain(client, o.domain);
  const rpc = new TypedClient<SaveRestoreRpc>(client.rpc);
  let r;
  try {
    r = await rpc.call('domain.save', {
      ref: String(domid),
      file: resolve(o.cwd, o.file),
      label: o.file,
      checkpoint: o.checkpoint,
      pause: o.pause,
      preserveDomid: o.preserveDomid,
      ...(o.config !== undefined ? { config: { file: resolve(o.cwd, o.config), label: o.config } } : {}),
    });
  } catch (err) {
    // save_domain_core_begin(): the config cannot be had; xl exits 1 before opening the file.
    if (isRpcError(err, 'ESRCH')) throw new XlFailure('unable to retrieve domain configuration\n', 1);
    if (o.config !== undefined && err instanceof Error) throw new XlFailure(`xenemu: ${err.message}\nunable to read overridden config file\n`, 1);
    throw err;
  }
  if (r.outcome === 'open-failed') throw new XlFailure(`Failed to open temp file ${o.file} for writing\n`, 1);
  if (r.outcome === 'failed') {
    // The header's write failed: nothing was suspended, xl's CHK_ERRNOVAL ends the command.
    if (r.header === null) throw new XlFailure(`xenemu: ${r.message}\n`, 1);
    ctx.note(`Saving to ${o.file} new xl format (info ${flags(r.header)})\n`);
    throw new XlFailure(`xenemu: ${r.message}\nFailed to save domain, resuming domain\n`, 1);
  }
  ctx.note(`Saving to ${o.file} new xl format (info ${flags(r.header)})\n`);
  return { stdout: '', data: { domid: r.domid, name: r.name, file: o.file, bytes: r.bytes, pages: r.pages, after: r.after } };
}

export interface XlRestoreOptions {
  file: string;
  /** Build the domain from this config file instead of the saved one. */
  config?: string;
  /** -p: leave it paused. */
  paused: boolean;
  /** -d: also print the saved config (libxl's JSON) on stderr. */
  debug?: boolean;
  cwd: string;
}

export interface XlRestoreResult {
  domid: number;
  name: string;
  paused: boolean;
}

/**
 * main_restore() + create_domain(): "Loading new save file ..." once the header is
 * read, where the config comes from, then the domain. A file refused before its
 * header is whole gets xl's own words for a wrong magic or byte order.
 */
export async function xlRestore(ctx: XlContext, o: XlRestoreOptions): Promise<XlOutput<XlRestoreResult>> {
  const client = await ctx.client();
  const rpc = new TypedClient<SaveRestoreRpc>(client.rpc);
  const r = await rpc.call('domain.restore', {
    file: resolve(o.cwd, o.file),
    label: o.file,
    paused: o.paused,
    ...(o.config !== undefined ? { config: { file: resolve(o.cwd, o.config), label: o.config } } : {}),
  });
  if (r.header !== null) {
    ctx.note(`Loading new save file ${o.file} (new xl fmt info ${flags(r.header)})\n`);
    if (r.header.optionalDataLength > 0) ctx.note(` Savefile contains xl domain config${r.header.configJson !== null ? ' in JSON format' : ''}\n`);
  }
  if (r.configSource !== null) ctx.note(`Parsing config from ${r.configSource}\n`);
  if (o.debug === true && r.header?.configJson != null) ctx.note(`${r.header.configJson}\n`);
  if (r.outcome === 'restored') return { stdout: '', data: { domid: r.domid, name: r.name, paused: r.paused } };
  if (r.header === null && r.record === 'xl header') {
    if (/no 'Xen saved domain, xl format' magic/.test(r.message)) throw new XlFailure('File has wrong magic number - corrupt or for a different tool?\n', 1);
    if (/byte order/.test(r.message)) throw new XlFailure('File has wrong byte order\n', 1);
  }
  // Can't open / Config file not specified / failed to free memory: xl's own lines; the rest libxl's reason, ours here.
  if (r.record === null && /^(?:Can't open restore file|Config file not specified|failed to free memory for the domain)/.test(r.message)) throw new XlFailure(`${r.message}\n`, 1);
  throw new XlFailure(`xenemu: ${r.message}\n`, 1);
}
