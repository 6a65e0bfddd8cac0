/**
 * `xl list -l` and `xl create -n`, as tools/xl/xl_info.c (list_domains_details,
 * printf_info) prints them in Xen 4.17: libxl's JSON of each domain's configuration.
 * Apart from list.ts so that a plain `xl list` does not load libxl's IDL.
 */

import { libxlDomainConfigGenJson } from '../../toolstack/libxl/json.js';
import type { LibxlDomainConfig } from '../../toolstack/libxl/idl.js';
import type { XlListLongEntry } from '../../toolstack/libxl/rows.js';
import { YajlGen } from '../../toolstack/libxl/yajl.js';

/**
 * `xl list -l`: yajl's beautified JSON array of `{"domid", "config"}`, then puts()'s
 * newline after yajl's own. xl skips a domain whose stored configuration cannot be
 * retrieved (Domain-0 without the stub xen-init-dom0 writes): leave it out here too.
 */
export function formatListLong(domains: readonly XlListLongEntry[]): string {
  const g = new YajlGen();
  g.arrayOpen();
  for (const d of domains) oneDomainJson(g, d.domid, d.config);
  g.arrayClose();
  return `${g.buffer}\n`;
}

/**
 * printf_info() in JSON mode: one object, no array and no extra newline. This is what
 * `xl create -n` / `xl -N create` prints, with domid null (xl passes -1).
 */
export function formatDomainConfigJson(domid: number | null, config: LibxlDomainConfig): string {
  const g = new YajlGen();
  oneDomainJson(g, domid, config);
  return g.buffer;
}

/** printf_info_one_json() (xl_info.c). */
function oneDomainJson(g: YajlGen, domid: number | null, config: LibxlDomainConfig): void {
  g.mapOpen();
  g.string('domid');
  if (domid === null || domid === -1) g.null();
  else g.integer(BigInt.asIntN(32, BigInt(domid)));
  g.string('config');
  libxlDomainConfigGenJson(g, config);
  g.mapClose();
}
