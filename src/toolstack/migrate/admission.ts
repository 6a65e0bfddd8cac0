/**
 * Before a restore or a migration's target reads a single page: the memory the domain
 * is declared to have, checked against the host's free memory as `create` checks it
 * (xl's freemem() before libxl builds the domain, which libxc then restores into), and
 * the bound its pages are read within (stream-reader.ts PageBound). A save file or a
 * migration stream is untrusted: what it declares up front is what its pages may take.
 *
 * The declaration is the config the domain is restored with: the one given (xl restore
 * CONFIG), else the libxl JSON in xl's header (b_info.target_memkb, max_memkb). One
 * that declares nothing is held to what the host has free.
 */

import { MAX_FRAMES } from '../../hypervisor/memory.js';
import type { DomainConfig } from '../config/index.js';
import { ToolstackError } from '../errors.js';
import type { PageBound } from './stream-reader.js';

/** KiB; null where nothing is declared. */
export interface DeclaredMemory {
  targetKiB: number | null;
  maxKiB: number | null;
}

export const NOTHING_DECLARED: DeclaredMemory = { targetKiB: null, maxKiB: null };

export function declaredByConfig(c: DomainConfig): DeclaredMemory {
  return { targetKiB: c.memory * 1024, maxKiB: c.maxmem * 1024 };
}

/** A KiB figure of libxl's JSON, if it is one (not absent, nor the IDL's "default", 2^64-1, which JSON numbers cannot hold exactly). */
function kib(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

/** What the libxl_domain_config JSON of xl's header declares (it is the sender's, so anything). */
export function declaredByLibxlJson(json: string | null): DeclaredMemory {
  if (json === null) return NOTHING_DECLARED;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return NOTHING_DECLARED;
  }
  const b = (parsed as { b_info?: unknown } | null)?.b_info;
  if (typeof b !== 'object' || b === null) return NOTHING_DECLARED;
  const info = b as { target_memkb?: unknown; max_memkb?: unknown };
  return { targetKiB: kib(info.target_memkb), maxKiB: kib(info.max_memkb) };
}

/**
 * The bound for a domain declaring `declared` on a host with `freeKiB` free, or
 * ENOMEM with xl's words when its memory is more than that (nothing is built yet, so
 * nothing is left behind).
 */
export function pageBoundFor(declared: DeclaredMemory, freeKiB: number): PageBound {
  const { targetKiB, maxKiB } = declared;
  if (targetKiB !== null && targetKiB > freeKiB) {
    throw new ToolstackError('ENOMEM', `failed to free memory for the domain: ${Math.ceil(targetKiB / 1024)} MiB asked, ${Math.floor(freeKiB / 1024)} MiB free`);
  }
  // libxl raises max_memkb to at least the target; the frame space is the larger.
  const spaceKiB = maxKiB === null ? null : Math.max(maxKiB, targetKiB ?? 0);
  return { maxPages: spaceKiB === null ? MAX_FRAMES : Math.min(Math.ceil(spaceKiB / 4), MAX_FRAMES), hostBytes: freeKiB * 1024 };
}
