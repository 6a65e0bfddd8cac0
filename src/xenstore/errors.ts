import type { XsErrno } from '../protocol/xs-wire.js';
import { XenemuError } from '../common/errors.js';

/**
 * A request that xenstored answers with an ERROR message. The errno is the name that
 * goes on the wire (xsd_errors[]); the message is for logs and CLI users.
 */
export class XsError extends XenemuError {
  constructor(
    readonly errno: XsErrno,
    message: string = errno,
  ) {
    super(errno, message);
  }
}

export function xsFail(errno: XsErrno, message?: string): never {
  throw new XsError(errno, message);
}
