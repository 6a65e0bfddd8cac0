/**
 * A suspended domain as one value: what `xl save` writes, `xl restore` reads, a
 * migration stream carries and a daemon restart keeps. The stream codec
 * (xl's save-file header, libxl and libxc migration streams v2) turns it into bytes and
 * back; the toolstack makes it from a suspended domain and builds a domain from it.
 *
 * Only state a guest can see goes in: the hypervisor's part (memory, vCPUs,
 * shared_info, event channels, grant table, timers), the emulated kernel's own objects,
 * and the domain's XenStore subtree. Backends are not in it: the restoring host's
 * backends serve the devices named in the config, and the guest's frontends reconnect
 * to them on resume.
 */

import type { SavedDomain } from '../../hypervisor/domain.js';
import type { KernelState } from '../../kernel/saved.js';
import type { DomainRecord } from '../toolstack.js';

/** One node of the domain's XenStore subtree, its path relative to the domain's home. */
export interface ImageStoreNode {
  path: string;
  value: Uint8Array;
  /** xenstore-ls -p style permissions ("n0", "r1", ...), the domain's own id as it was. */
  perms: string[];
}

export interface DomainImage {
  /** The toolstack's record: the config the domain was created from and what xl changed since. */
  record: DomainRecord;
  /** Everything the hypervisor holds for the domain. */
  hypervisor: SavedDomain;
  /** The emulated kernel's own objects (carried as device-model state in a stream). */
  kernel: KernelState;
  /** The domain's home in XenStore (/local/domain/<id>), relative paths. */
  xenstore: ImageStoreNode[];
}
