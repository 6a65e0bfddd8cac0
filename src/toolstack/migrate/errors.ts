/**
 * A save file or migration stream that cannot be read: foreign, truncated, corrupt or
 * of a version we do not know. The message says what is wrong and where (the record
 * type by its spec name, and the byte offset of that record's header in the stream),
 * as `xl restore` would report libxl's "Failed to read ..." with the stream position.
 * code EINVAL, exit status 1, as xl restore exits on a bad file.
 */

import { XenemuError } from '../../common/errors.js';

export class SaveFileError extends XenemuError {
  constructor(
    message: string,
    /** The record (or header) being read: "xl header", "PAGE_DATA", ... */
    readonly record: string,
    /** Byte offset of that record's start in the stream. */
    readonly offset: number,
  ) {
    super('EINVAL', message);
  }
}
