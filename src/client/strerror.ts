/**
 * What the C tools print for an errno: glibc's strerror() text and the Linux x86-64
 * errno number. libxenstore turns an ERROR reply's name into errno through
 * xsd_errors[] (an unknown name becomes EINVAL), and the tools print it with err(3)
 * or "%d"; so we need glibc's words, not libuv's ("no such file or directory").
 */
const errnoTable: Record<string, readonly [number, string]> = {
  EPERM: [1, 'Operation not permitted'],
  ENOENT: [2, 'No such file or directory'],
  EIO: [5, 'Input/output error'],
  E2BIG: [7, 'Argument list too long'],
  EAGAIN: [11, 'Resource temporarily unavailable'],
  ENOMEM: [12, 'Cannot allocate memory'],
  EACCES: [13, 'Permission denied'],
  EBUSY: [16, 'Device or resource busy'],
  EEXIST: [17, 'File exists'],
  ENOTDIR: [20, 'Not a directory'],
  EISDIR: [21, 'Is a directory'],
  EINVAL: [22, 'Invalid argument'],
  ENOSPC: [28, 'No space left on device'],
  EROFS: [30, 'Read-only file system'],
  EPIPE: [32, 'Broken pipe'],
  ENAMETOOLONG: [36, 'File name too long'],
  ENOSYS: [38, 'Function not implemented'],
  ENOTEMPTY: [39, 'Directory not empty'],
  ELOOP: [40, 'Too many levels of symbolic links'],
  ENOTSOCK: [88, 'Socket operation on non-socket'],
  ECONNRESET: [104, 'Connection reset by peer'],
  EISCONN: [106, 'Transport endpoint is already connected'],
  ECONNREFUSED: [111, 'Connection refused'],
};

/** The xsd_errors[] names libxenstore knows; anything else it reads as EINVAL. */
const XSD_ERRORS = new Set(['EINVAL', 'EACCES', 'EEXIST', 'EISDIR', 'ENOENT', 'ENOMEM', 'ENOSPC', 'EIO', 'ENOTEMPTY', 'ENOSYS', 'EROFS', 'EBUSY', 'EAGAIN', 'EISCONN', 'E2BIG', 'EPERM']);

/** The errno libxenstore sets for an ERROR reply carrying `name`. */
export function replyErrno(name: string): string {
  return XSD_ERRORS.has(name) ? name : 'EINVAL';
}

export function strerror(name: string): string {
  return errnoTable[name]?.[1] ?? `Unknown error ${name}`;
}

export function errnoNumber(name: string): number {
  return errnoTable[name]?.[0] ?? errnoTable.EINVAL![0];
}
