import { writeFileSync } from 'node:fs';
import { LineCounter, parseDocument, stringify } from 'yaml';
import { MAX_PCPUS, XEN_SCHEDULERS } from '../hypervisor/host-model.js';
import { MIN_CAPTURE_MAX_BYTES } from '../net/pcap-writer.js';
import { readOptionalFile } from '../common/optional-file.js';
import { z } from 'zod';
import { XenemuError } from '../common/errors.js';
import { FaultConfigObject, faultParams, faultProblem } from '../faults/config.js';

/**
 * The emulated machine's shape, from <state dir>/host.yaml: how many physical CPUs and
 * how much memory Xen sees, and dom0's share. Memory is only accounted, never
 * allocated, so a laptop can host a "1 TiB" machine with hundreds of guests.
 *
 *   pcpus: 16
 *   memory: 262144        # MiB
 *   dom0_memory: 2048     # MiB
 *   xen_init_dom0: true   # write dom0's name and domid as xencommons' xen-init-dom0 does
 *   console_log_max_kib: 1024   # a guest's console/guest-NAME.log rotates at this size
 *   console_log_backups: 3      # ... and this many old ones are kept (guest-NAME.log.1 ...)
 *   daemon_log_max_kib: 1024    # daemon.log rotates at this size, and at each daemon start
 *   daemon_log_backups: 10      # ... and this many old ones are kept (daemon.log.1 ...)
 *   capture_max_kib: 65536      # a vif's or bridge's capture (captures/*.pcap) rotates at this size
 *   capture_backups: 3          # ... and this many old ones are kept (NAME.pcap.1 ...)
 *   bridges: [xenbr0, lab]      # the bridges dom0 has, that vifs' bridge= may name (default: xenbr0)
 *   sched: credit               # Xen's sched=: the scheduler of Pool-0 (default: credit2)
 *   checkpoint_interval_ms: 5000 # each running guest is checkpointed this often (0: never)
 */
const HostConfigSchema = z.strictObject({
  pcpus: z.int().min(1).max(MAX_PCPUS).optional().describe('Physical CPUs (default: this machine\'s)'),
  memory: z.int().min(256).max(0x7fffffff).optional().describe('Total memory in MiB (default: this machine\'s)'),
  dom0_memory: z.int().min(64).max(0x7fffffff).optional().describe('dom0\'s memory in MiB (default: an eighth of the total, at most 2048)'),
  console_log_max_kib: z.int().min(4).max(0x3fffffff).optional().describe('A guest\'s console log (console/guest-NAME.log) is rotated when it reaches this many KiB (default: 1024)'),
  console_log_backups: z.int().min(0).max(99).optional().describe('Rotated console logs kept per guest, guest-NAME.log.1 the newest (default: 3)'),
  daemon_log_max_kib: z.int().min(4).max(0x3fffffff).optional().describe('daemon.log is rotated when it reaches this many KiB, and at each daemon start (default: 1024)'),
  daemon_log_backups: z.int().min(0).max(99).optional().describe('Rotated daemon logs kept, daemon.log.1 the newest (default: 10, as libxl keeps of its logs)'),
  capture_max_kib: z.int().min(MIN_CAPTURE_MAX_BYTES / 1024).max(0x3fffffff).optional().describe('A vif\'s or bridge\'s capture (captures/NAME.pcap) is rotated when it reaches this many KiB (default: 65536)'),
  capture_backups: z.int().min(0).max(99).optional().describe('Rotated captures kept per vif or bridge, NAME.pcap.1 the newest (default: 3)'),
  bridges: z
    .array(z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, 'a bridge name: 1 to 15 letters, digits, _ . - (a Linux interface name)'))
    .max(256)
    .optional()
    .describe('The bridges dom0 has, that vifs\' bridge= may name; each captures to captures/bridge-NAME.pcap (default: [xenbr0])'),
  checkpoint_interval_ms: z
    .int()
    .min(0)
    .max(3_600_000)
    .optional()
    .describe('How often each running guest is checkpointed into images/DOMID.xl, so a daemon killed -9 resumes it from there (at most this old) instead of booting it; 0: never (default: 5000)'),
  sched: z.enum(XEN_SCHEDULERS).optional().describe('The scheduler Xen boots with, as its sched= option: credit, credit2, rtds, arinc653 or null (default: credit2, as Xen 4.17)'),
  xen_init_dom0: z.boolean().optional().describe('Write /local/domain/0/name and domid as xen-init-dom0 does (default: false, like a xenstored started with --no-domain-init)'),
  faults: z
    .array(
      FaultConfigObject.superRefine((f, ctx) => {
        const t = f.target;
        const problem = faultProblem(faultParams(f, t ?? null), t === undefined ? null : t === 'socket' ? 'socket' : t === '0' || t === 'Domain-0' ? 'dom0' : 'domain', 'keys');
        if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
      }),
    )
    .optional()
    .describe('Faults added when the daemon starts, as `xenemu fault add` adds them (target: a domain, "socket", or none)'),
});

export type HostConfig = z.infer<typeof HostConfigSchema>;

export class HostConfigError extends XenemuError {
  constructor(message: string) {
    super('EINVAL', message);
  }
}

export function parseHostConfig(text: string, file: string): HostConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const where = (offset: number | undefined) => {
    const p = lines.linePos(offset ?? 0);
    return `${file}:${p.line}:${p.col}`;
  };
  if (doc.errors.length > 0) throw new HostConfigError(`${where(doc.errors[0]!.pos[0])}: ${doc.errors[0]!.message}`);
  const result = HostConfigSchema.safeParse(doc.toJS() ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = issue.path.join('.');
  const node = key === '' ? undefined : doc.getIn(issue.path, true);
  const offset = (node as { range?: [number] } | undefined)?.range?.[0];
  throw new HostConfigError(`${where(offset)}: ${key || 'host.yaml'}: ${issue.message}`);
}

/** The config of a state dir, or the defaults when it has none. */
export function readHostConfig(file: string): HostConfig {
  const text = readOptionalFile(file);
  if (text === null) return {};
  return parseHostConfig(text, file);
}

/**
 * Record settings (for `host start --pcpus ...`), keeping the ones not given as they
 * are written (a fault's "30s" stays "30s", not the milliseconds it is read into).
 */
export function writeHostConfig(file: string, settings: Omit<HostConfig, 'faults'>): void {
  const text = readOptionalFile(file);
  if (text !== null) parseHostConfig(text, file);
  const written = text === null ? {} : (parseDocument(text).toJS() as Record<string, unknown> | null) ?? {};
  const merged = { ...written, ...settings };
  const kept = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined));
  writeFileSync(file, `# The emulated machine (read when the daemon starts). Memory in MiB.\n${stringify(kept)}`, { mode: 0o600 });
}
