import type { Domctl } from '../../hypervisor/domctl.js';
import type { DomainConfig } from '../config/index.js';
import type { Toolstack } from '../toolstack.js';
import { declaredByLibxlJson } from './admission.js';
import type { MigrationTarget } from './receiver.js';
import type { MigrationSource } from './sender.js';

/**
 * The toolstack as a migration's sending end: the guest suspends and its image is
 * taken, a failed migration resumes it in place, a finished one destroys it. With
 * `config` (xl migrate -C) the target builds the domain from that config instead.
 */
export function toolstackSource(toolstack: Toolstack, domctl: Domctl, config?: DomainConfig): MigrationSource {
  return {
    domctl,
    suspend: async (domid) => {
      // The pages went in the rounds; the image's are not sent, so they are not copied.
      const image = await toolstack.suspendDomain(domid, { pagesInPlace: true });
      if (config === undefined) return image;
      // What the old config spelled out goes with it, as in a restore given a config.
      const { given: _given, ...record } = image.record;
      return { ...image, record: { ...record, config } };
    },
    resume: (domid) => toolstack.resumeDomain(domid),
    isSuspended: (domid) => toolstack.find(domid).shutdownReason === 'suspend',
    rename: (domid, name) => toolstack.rename(domid, name),
    destroy: (domid) => toolstack.destroySaved(domid),
  };
}

/**
 * The toolstack as the receiving end: the domain is restored paused (its devices'
 * backends coming up while the sender gives the "go"), then renamed and unpaused.
 */
export function toolstackTarget(toolstack: Toolstack): MigrationTarget {
  return {
    admit: (configJson) => toolstack.admitRestore(declaredByLibxlJson(configJson)),
    restore: (image, _configJson, name) => toolstack.restoreIncoming(image, name),
    rename: (domid, name) => toolstack.rename(domid, name),
    unpause: async (domid) => {
      // libxl_domain_unpause returns once the vCPUs may run: the guest's resume that
      // follows (its devices reconnecting) is the guest's own time, as on Xen. A failure
      // there crashes the domain (toolstack.unpause), which on_crash handles.
      const resuming = toolstack.unpause(domid, { kernelNextTurn: true });
      resuming.catch(() => {});
      // The unpause itself fails before the guest runs (its promise is rejected already).
      await Promise.race([resuming, Promise.resolve()]);
    },
    destroy: (domid) => toolstack.destroy(domid),
  };
}
