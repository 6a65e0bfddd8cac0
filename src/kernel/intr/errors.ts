/**
 * A failed request to the guest's interrupt layer or its event channel device, with
 * the errno FreeBSD's code returns for it: EOPNOTSUPP for moving an interrupt when
 * events are not per-vCPU (xen_intr_assign_cpu), ENOTCONN for a port that the event
 * channel device did not bind (evtchn_dev.c), EINVAL for an impossible request.
 */

import { XenemuError } from '../../common/errors.js';
export class IntrError extends XenemuError {
  constructor(
    override readonly code: 'EINVAL' | 'EOPNOTSUPP' | 'ENOTCONN' | 'ENOENT' | 'ENOSPC' | 'EEXIST' | 'EBUSY' | 'EFBIG',
    message: string,
  ) {
    super(code, message);
  }
}
