import { XenemuError } from '../common/errors.js';
import type { XenbusRpc } from '../protocol/xenbus-rpc.js';
import type { StatePaths } from '../state/state-dir.js';
import { domainQualifier } from '../toolstack/libxl/qualifier.js';
import { daemonCall } from './call.js';
import { isRpcError } from './domains.js';

/**
 * A domain the daemon does not know, worded as xl words it: a name goes through
 * libxl_name_to_domid, which answers ERROR_INVAL (-6); a domid through
 * libxl_domain_info, whose ERROR_DOMAIN_NOTFOUND xl reports as "Domain ... does not exist".
 */
export class UnknownDomainError extends XenemuError {
  constructor(readonly ref: string) {
    super('ESRCH', 'domid' in domainQualifier(ref) ? `Error: Domain '${ref}' does not exist.` : `${ref} is an invalid domain identifier (rc=-6)`);
  }

  /** xl's own line, without the "xenemu: " prefix. */
  override cliMessage(): string {
    return this.message;
  }
}

/** The XenBus devices of domain `ref`'s kernel (`xenemu xenbus list`). */
export async function xenbusList(paths: StatePaths, ref: string): Promise<XenbusRpc['xenbus.list']['result']> {
  try {
    return await daemonCall<XenbusRpc, 'xenbus.list'>(paths, 'xenbus.list', { ref });
  } catch (err) {
    if (isRpcError(err, 'ESRCH')) throw new UnknownDomainError(ref);
    throw err;
  }
}
