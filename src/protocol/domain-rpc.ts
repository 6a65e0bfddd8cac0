import type { DomainConfig } from '../toolstack/config/index.js';
import type { XlDomainRow, XlInfo, XlListLongEntry, XlUptimeRow, XlVcpuRow } from '../ui/xl/types.js';

/**
 * The control-socket methods of the xl-like commands: parameters and results. The CLI
 * parses configs and arguments (so errors point at the file or argument) and formats
 * the results with src/ui/xl; the daemon does the work. A domain is named by id or name
 * (`ref`), as xl accepts both.
 */
export interface DomainRpc {
  'domain.create': { params: { config: DomainConfig; paused: boolean; source?: string }; result: { domid: number; name: string; uuid: string } };
  'domain.list': { params: { refs?: string[] }; result: XlDomainRow[] };
  'domain.listLong': { params: { refs?: string[] }; result: XlListLongEntry[] };
  'domain.destroy': { params: { ref: string }; result: null };
  'domain.shutdown': {
    params: { refs?: string[]; all?: boolean; wait?: boolean; command: 'poweroff' | 'reboot' };
    result: Array<{ domid: number; name: string; reason: string | null }>;
  };
  'domain.pause': { params: { ref: string }; result: null };
  'domain.unpause': { params: { ref: string }; result: null };
  'domain.rename': { params: { ref: string; name: string }; result: null };
  'domain.domid': { params: { name: string }; result: number };
  'domain.domname': { params: { domid: number }; result: string };
  'domain.uptime': { params: { refs?: string[] }; result: XlUptimeRow[] };
  'domain.dmesg': { params: { ref?: string }; result: string[] };
  'host.info': { params: Record<string, never>; result: XlInfo };
  'vcpu.list': { params: { refs?: string[] }; result: { rows: XlVcpuRow[]; nrCpus: number } };
  /** null keeps an affinity as it is (xl's "-"). */
  'vcpu.pin': { params: { ref: string; vcpu: number | 'all'; hard: number[] | 'all' | null; soft: number[] | 'all' | null }; result: null };
  'vcpu.set': { params: { ref: string; count: number }; result: null };
  'mem.set': { params: { ref: string; kib: number }; result: null };
  'mem.max': { params: { ref: string; kib: number }; result: null };
}

export type DomainMethod = keyof DomainRpc;
