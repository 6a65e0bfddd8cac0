import { strtoul } from '../../common/c-number.js';

/**
 * libxl_domain_qualifier_to_domid() (libxl_utils.c): a qualifier of digits only (even
 * none) is a domain id, strtoul'd and stored in a uint32_t without asking whether the
 * domain exists; anything else is a domain name to look up. xl's find_domain() reads
 * its DOMAIN arguments so, and libxl resolves a device's backend_domname so.
 */
export function domainQualifier(q: string): { domid: number } | { name: string } {
  if (/^[0-9]*$/.test(q)) return { domid: Number(BigInt.asUintN(32, strtoul(q, 10).value)) };
  return { name: q };
}
