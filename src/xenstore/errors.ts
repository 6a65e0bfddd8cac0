import type { XsErrno } from '../protocol/xs-wire.js';

/**
 * A request that xenstored answers with an ERROR message. The errno is the name that
 * goes on the wire (xsd_errors[]); the message is for logs and CLI users.
 */
export class XsError extends Error {
  constructor(
    readonly errno: XsErrno,
    message: string = errno,
  ) {
    super(message);
    this.name = 'XsError';
  }
}

export function xsFail(errno: XsErrno, message?: string): never {
  throw new XsError(errno, message);
}
