/**
 * What an xl.cfg spelled out (GivenKeys), kept with a domain's record so `list -l`
 * prints what `create -n` printed for its config: as JSON (no Sets or Maps), and each
 * disk's and vif's keys by devid, since block-attach and block-detach change the
 * config's device lists after the create. A record without it (made before it was
 * kept, or from a YAML config) prints as its config's xl.cfg conversion would.
 */

import * as z from 'zod';
import type { DomainConfig, GivenKeys, XlPlain } from './index.js';

const Key = z.string().min(1).max(128);
/** Lists nest at most this deep in a kept value (xl.cfg's keys nest two). */
const MAX_DEPTH = 8;
const isPlain = (v: unknown, depth: number): v is XlPlain =>
  typeof v === 'string' ? v.length <= 64 * 1024 : Array.isArray(v) && depth < MAX_DEPTH && v.length <= 4096 && v.every((x) => isPlain(x, depth + 1));
/** A not-emulated key's value: an atom, or a list of them (checked without recursion past MAX_DEPTH). */
const Plain = z.custom<XlPlain>((v) => isPlain(v, 0), { error: 'a value is a string or a list of values' });
const Device = z.strictObject({ devid: z.int().min(0), keys: z.array(Key).max(64) });

/** GivenKeys as the record and the control socket carry them. */
export const StoredGivenKeysField = z.strictObject({
  keys: z.array(Key).max(1024).optional(),
  notEmulated: z.array(z.tuple([Key, Plain])).max(1024).optional(),
  disk: z.array(Device).max(4096),
  vif: z.array(Device).max(4096),
});
export type StoredGivenKeys = z.output<typeof StoredGivenKeysField>;

/** `given` (of `config`, as read) to keep. */
export function storeGivenKeys(given: GivenKeys, config: DomainConfig): StoredGivenKeys {
  const byDevid = (sets: readonly ReadonlySet<string>[], devids: readonly number[]) => devids.map((devid, i) => ({ devid, keys: [...(sets[i] ?? [])] }));
  return {
    ...(given.keys !== undefined ? { keys: [...given.keys] } : {}),
    ...(given.notEmulated !== undefined ? { notEmulated: [...given.notEmulated] } : {}),
    disk: byDevid(given.disk, config.disk.map((d) => d.devid)),
    vif: byDevid(given.vif, config.vif.map((v) => v.devid)),
  };
}

/** The GivenKeys of `config`'s devices now: a device attached since the create spelled nothing out. */
export function givenKeysOf(stored: StoredGivenKeys, config: DomainConfig): GivenKeys {
  const byPlace = (kept: StoredGivenKeys['disk'], devids: readonly number[]) => {
    const of = new Map(kept.map((d) => [d.devid, d.keys]));
    return devids.map((devid) => new Set(of.get(devid) ?? []));
  };
  return {
    ...(stored.keys !== undefined ? { keys: new Set(stored.keys) } : {}),
    ...(stored.notEmulated !== undefined ? { notEmulated: new Map(stored.notEmulated) } : {}),
    disk: byPlace(stored.disk, config.disk.map((d) => d.devid)),
    vif: byPlace(stored.vif, config.vif.map((v) => v.devid)),
  };
}
