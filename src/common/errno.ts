/**
 * Errno names as Linux x86-64 numbers them, with glibc's strerror() text: what the C
 * tools print, and what a guest kernel writes where Xen's drivers write an errno (the
 * "<errno> <message>" of a XenBus device's error node).
 */
const errnoTable: Record<string, readonly [number, string]> = {
  EPERM: [1, 'Operation not permitted'],
  ENOENT: [2, 'No such file or directory'],
  ESRCH: [3, 'No such process'],
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

export function strerror(name: string): string {
  return errnoTable[name]?.[1] ?? `Unknown error ${name}`;
}

/** The number of errno `name`; an unknown name counts as EINVAL, as libxenstore reads one. */
export function errnoNumber(name: string): number {
  return errnoTable[name]?.[0] ?? errnoTable.EINVAL![0];
}

/** Whether `name` is an errno this table knows. */
export function isErrnoName(name: string): boolean {
  return name in errnoTable;
}
