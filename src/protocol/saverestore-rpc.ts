import * as z from 'zod';
import type { XlHeaderInfo } from '../toolstack/migrate/stream-format.js';
import { DomainRef } from './params.js';

/**
 * `xl save` and `xl restore` as control methods. The daemon opens, writes and reads
 * the save file itself (it is the user's, with the user's rights, as the CLI would
 * be): the file's pages never cross the control socket. Paths are absolute; `label`
 * is the path as the user typed it, which messages name it by, as xl does.
 */

const AbsolutePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((f) => f.startsWith('/') && !f.includes('\0'), { error: 'must be an absolute path' });
const Label = z.string().min(1).max(4096);
/** A config file given on the command line (xl save DOM FILE CONFIG, xl restore CONFIG FILE). */
const ConfigFileParam = z.strictObject({ file: AbsolutePath, label: Label });

export const SaveRestoreParams = {
  'domain.save': z.strictObject({
    ref: DomainRef,
    file: AbsolutePath,
    label: Label,
    /** -c: leave the domain running after the save (a checkpoint). */
    checkpoint: z.boolean().default(false),
    /** -p: leave it paused after the save. */
    pause: z.boolean().default(false),
    /** -D: keep the domain's id in the stored config (c_info.domid), else 0. */
    preserveDomid: z.boolean().default(false),
    /** Store this config instead of the domain's own. */
    config: ConfigFileParam.optional(),
  }),
  'domain.restore': z.strictObject({
    file: AbsolutePath,
    label: Label,
    /** -p: leave the restored domain paused. */
    paused: z.boolean().default(false),
    /** Build it with this config instead of the saved one. */
    config: ConfigFileParam.optional(),
  }),
} satisfies Record<string, z.ZodType>;

type HeaderFlags = Omit<XlHeaderInfo, 'configJson'>;

/**
 * What became of a save, in xl's order: the file could not be opened (nothing else
 * happened); the header could not be written (header null: nothing suspended); the
 * header was written (xl reports its flags) and then the save failed and the domain
 * was resumed, or the domain was saved. `after` says what the domain is now:
 * destroyed, running (-c) or paused (-p).
 */
export type SaveResult =
  | { outcome: 'open-failed'; code: string; message: string }
  | { outcome: 'failed'; header: HeaderFlags | null; code: string; message: string }
  | { outcome: 'saved'; header: HeaderFlags; domid: number; name: string; bytes: number; pages: number; after: 'destroyed' | 'running' | 'paused' };

/**
 * What became of a restore: refused (nothing was created), with the xl header's flags
 * if it got that far (xl reports them before reading on) and where the config came
 * from; or restored, the new domain's id and name.
 */
export type RestoreResult =
  | { outcome: 'refused'; header: XlHeaderInfo | null; configSource: string | null; code: string; message: string; record: string | null; offset: number | null }
  | { outcome: 'restored'; header: XlHeaderInfo; configSource: string; domid: number; name: string; paused: boolean };

interface SaveRestoreResults {
  'domain.save': SaveResult;
  'domain.restore': RestoreResult;
}

export type SaveRestoreMethod = keyof typeof SaveRestoreParams;

export type SaveRestoreRpc = { [M in SaveRestoreMethod]: { params: z.output<(typeof SaveRestoreParams)[M]>; result: SaveRestoreResults[M] } };
