/**
 * What the C tools print for an errno: glibc's strerror() text and the Linux x86-64
 * errno number. libxenstore turns an ERROR reply's name into errno through
 * xsd_errors[] (an unknown name becomes EINVAL), and the tools print it with err(3)
 * or "%d"; so we need glibc's words, not libuv's ("no such file or directory").
 */
import { XS_ERRNO_NAMES } from '../protocol/xs-wire.js';

export { errnoNumber, strerror } from '../common/errno.js';

/** The xsd_errors[] names libxenstore knows; anything else (oxenstored's EQUOTA) it reads as EINVAL. */
const XSD_ERRORS: ReadonlySet<string> = new Set(XS_ERRNO_NAMES);

/** The errno libxenstore sets for an ERROR reply carrying `name`. */
export function replyErrno(name: string): string {
  return XSD_ERRORS.has(name) ? name : 'EINVAL';
}
