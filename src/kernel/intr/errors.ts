/**
 * A failed request to the guest's interrupt layer or its event channel device, with
 * the errno FreeBSD's code returns for it: EOPNOTSUPP for moving an interrupt when
 * events are not per-vCPU (xen_intr_assign_cpu), ENOTCONN for a port that the event
 * channel device did not bind (evtchn_dev.c), EINVAL for an impossible request.
 */
export class IntrError extends Error {
  constructor(
    readonly code: 'EINVAL' | 'EOPNOTSUPP' | 'ENOTCONN' | 'ENOENT' | 'ENOSPC' | 'EEXIST' | 'EBUSY' | 'EFBIG',
    message: string,
  ) {
    super(message);
    this.name = 'IntrError';
  }
}
