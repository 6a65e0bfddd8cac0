/**
 * The daemon's side of `xl save` and `xl restore` (tools/xl/xl_saverestore.c,
 * create_domain() in xl_vmcontrol.c): the file is opened and written or read here, a
 * record at a time (src/toolstack/migrate), around the toolstack's suspend, resume
 * and restore. The answers are outcomes in xl's order (see saverestore-rpc.ts) for the
 * CLI to print as xl does.
 */

import { open, type FileHandle } from 'node:fs/promises';
import { strerror } from '../common/errno.js';
import type { RestoreResult, SaveRestoreRpc, SaveResult } from '../protocol/saverestore-rpc.js';
import { loadDomainConfig, type DomainConfig } from '../toolstack/config/index.js';
import { xlParsedDomainConfig } from '../toolstack/libxl/from-config.js';
import { libxlDomainConfigGenJson, YajlGen } from '../toolstack/libxl/index.js';
import { declaredByConfig, declaredByLibxlJson } from '../toolstack/migrate/admission.js';
import { ByteSource } from '../toolstack/migrate/byte-source.js';
import { SaveFileError } from '../toolstack/migrate/errors.js';
import type { XlHeaderInfo } from '../toolstack/migrate/stream-format.js';
import { readLibxlStream, readXlHeader } from '../toolstack/migrate/stream-reader.js';
import { fileSink } from '../toolstack/migrate/sinks.js';
import { SaveStreamWriter } from '../toolstack/migrate/stream-writer.js';
import { ToolstackError } from '../toolstack/errors.js';
import { rpcErrorOf, rpcMethods, type RpcMethod } from './control-server.js';
import { libxlConfigOf } from './domain-service.js';
import type { Domain } from '../hypervisor/domain.js';
import type { Machine } from './machine.js';

/** A control error the CLI can print (the file's I/O errors included), or a bug (rethrown for the control server to log). */
function expected(err: unknown): { code: string; message: string } {
  const io = err as NodeJS.ErrnoException;
  if (typeof io?.code === 'string' && typeof io.syscall === 'string') return { code: io.code, message: `${io.syscall} of the save file: ${strerror(io.code)}` };
  const { code, message, internal } = rpcErrorOf(err);
  if (internal) throw err;
  return { code, message };
}

/**
 * save_domain_core_begin(): the config xl stores in a save file's (and a migration
 * stream's) header, as libxl JSON: the one given (-C, or save's CONFIG), else the
 * domain's own as libxl retrieves it; its domid only with -D.
 */
export function storedConfigJson(machine: Machine, d: Domain, override: DomainConfig | undefined, preserveDomid: boolean): string {
  const libxl = override !== undefined ? xlParsedDomainConfig(override, { hostCpus: machine.hv.host.pcpus, uuid: () => d.uuid }) : libxlConfigOf(machine, d);
  libxl.c_info = { ...libxl.c_info, domid: preserveDomid ? d.domid : 0 };
  const gen = new YajlGen();
  libxlDomainConfigGenJson(gen, libxl);
  return gen.buffer;
}

export function saveRestoreMethods(machine: Machine): Record<string, RpcMethod> {
  const { hv, toolstack } = machine;
  return rpcMethods<SaveRestoreRpc>({
    'domain.save': async (p): Promise<SaveResult> => {
      const d = toolstack.find(p.ref);
      if (d.domid === 0) throw new ToolstackError('EINVAL', 'Domain-0 cannot be saved');
      const override = p.config !== undefined ? loadDomainConfig(p.config.file, [], { label: p.config.label, regularFileOnly: true }).config : undefined;
      const configJson = storedConfigJson(machine, d, override, p.preserveDomid);

      let fh: FileHandle;
      try {
        fh = await open(p.file, 'w', 0o644);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
        return { outcome: 'open-failed', code, message: strerror(code) };
      }
      const writer = new SaveStreamWriter(fileSink(fh));
      let header: Extract<SaveResult, { outcome: 'saved' }>['header'];
      try {
        header = await writer.xlHeader(configJson);
      } catch (err) {
        // Nothing suspended yet: xl's CHK_ERRNOVAL on the header's write ends the command.
        await fh.close().catch(() => {});
        return { outcome: 'failed', header: null, ...expected(err) };
      }
      try {
        // A failed suspend leaves the domain running (the toolstack takes the request back).
        // The file is written before the domain resumes or goes: its frames need no copy.
        const image = await toolstack.suspendDomain(d.domid, { pagesInPlace: true });
        if (override !== undefined) image.record = { ...image.record, config: override };
        try {
          await writer.begin(image.hypervisor.type, image.hypervisor.memory.maxPages);
          await writer.finish(image);
          await fh.close();
        } catch (err) {
          // "Failed to save domain, resuming domain".
          await toolstack.resumeDomain(d.domid);
          throw err;
        }
      } catch (err) {
        await fh.close().catch(() => {});
        return { outcome: 'failed', header, ...expected(err) };
      }
      // After a good save: -p pauses then resumes (it runs once unpaused), -c resumes, else the domain goes.
      let after: 'destroyed' | 'running' | 'paused';
      if (p.pause || p.checkpoint) {
        if (p.pause) toolstack.pause(d.domid);
        await toolstack.resumeDomain(d.domid);
        after = p.pause ? 'paused' : 'running';
      } else {
        await toolstack.destroySaved(d.domid);
        after = 'destroyed';
      }
      return { outcome: 'saved', header, domid: d.domid, name: d.name, bytes: writer.bytes, pages: writer.pagesSent, after };
    },

    'domain.restore': async (p): Promise<RestoreResult> => {
      let header: XlHeaderInfo | null = null;
      let configSource: string | null = null;
      let fh: FileHandle;
      try {
        fh = await open(p.file, 'r');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
        return { outcome: 'refused', header, configSource, code, message: `Can't open restore file: ${strerror(code)}`, record: null, offset: null };
      }
      try {
        const src = ByteSource.fromFile(fh);
        header = await readXlHeader(src);
        let config: DomainConfig | undefined;
        if (p.config !== undefined) {
          configSource = p.config.label;
          config = loadDomainConfig(p.config.file, [], { label: p.config.label, regularFileOnly: true }).config;
        } else if (header.configJson === null) {
          throw new ToolstackError('EINVAL', 'Config file not specified and none in save file');
        } else {
          // The domain is built from the toolstack record in the device-model state; the
          // header's libxl JSON is what a real xl would read.
          configSource = '<saved>';
        }
        // The host must have the memory the domain is declared to have before a page is
        // read, and its pages stay within it; the whole stream is read and checked before
        // anything is created.
        const bound = toolstack.admitRestore(config !== undefined ? declaredByConfig(config) : declaredByLibxlJson(header.configJson));
        const image = await readLibxlStream(src, { trailing: 'refuse', bound });
        const domid = await toolstack.restoreDomain(image, { paused: p.paused, ...(config !== undefined ? { config } : {}) });
        return { outcome: 'restored', header, configSource, domid, name: hv.domains.get(domid)?.name ?? image.record.name, paused: p.paused };
      } catch (err) {
        const where = err instanceof SaveFileError ? { record: err.record, offset: err.offset } : { record: null, offset: null };
        return { outcome: 'refused', header, configSource, ...expected(err), ...where };
      } finally {
        await fh.close();
      }
    },
  });
}
