import type { XsReplyErrno } from '../protocol/xs-wire.js';
import { XenemuError } from '../common/errors.js';

/**
 * A request that xenstored answers with an ERROR message. The errno is the name that
 * goes on the wire (xsd_errors[], or oxenstored's EQUOTA); the message is for logs and CLI users.
 */
export class XsError extends XenemuError {
  constructor(
    readonly errno: XsReplyErrno,
    message: string = errno,
  ) {
    super(errno, message);
  }
}

export function xsFail(errno: XsReplyErrno, message?: string): never {
  throw new XsError(errno, message);
}
