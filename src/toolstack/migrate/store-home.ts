/**
 * A domain's XenStore home in an image: read from the store when the domain is
 * suspended, written back under the new domain's home on a restore.
 */

import { XenemuError } from '../../common/errors.js';
import type { XsClient } from '../../protocol/xs-client.js';
import type { ImageStoreNode } from './image.js';

/**
 * Every node below /local/domain/<domid> (the home itself as path ""), with its value
 * and permissions, parents before children. Read in one transaction, so the subtree
 * is one state of the store; the requests go out together (a node's three, and its
 * children's), not one round trip after another: a suspend's image waits on them.
 */
export async function captureStoreHome(xs: XsClient, domid: number): Promise<ImageStoreNode[]> {
  const home = `/local/domain/${domid}`;
  return xs.transaction(async (tx) => {
    const walk = async (rel: string): Promise<ImageStoreNode[]> => {
      const path = rel === '' ? home : `${home}/${rel}`;
      const [value, perms, children] = await Promise.all([xs.read(path, tx), xs.getPerms(path, tx), xs.directory(path, tx)]);
      const below = await Promise.all(children.map((child) => walk(rel === '' ? child : `${rel}/${child}`)));
      return [{ path: rel, value: new Uint8Array(value), perms }, ...below.flat()];
    };
    return walk('');
  });
}

/** Write the carried nodes of an image's home (carriedStoreNodes) under a new domain's, owned as they were. */
export async function writeStoreHome(xs: XsClient, tx: number, domid: number, oldDomid: number, nodes: readonly ImageStoreNode[]): Promise<void> {
  const home = `/local/domain/${domid}`;
  const carried = carriedStoreNodes(nodes);
  // The image is untrusted: its home may hold no more nodes than the domain could own
  // (dom0 writes them, which xenstored's quota does not stop).
  const quota = nodesQuota(await xs.control(['quota']));
  if (quota > 0 && carried.length > quota) throw new XenemuError('ENOSPC', `the image's XenStore home has ${carried.length} nodes, more than the ${quota} a domain may own (xenstored's nodes quota)`);
  for (const n of carried) {
    const path = `${home}/${n.path}`;
    await xs.write(path, Buffer.from(n.value), tx);
    await xs.setPerms(path, permsForDomid(n.perms, oldDomid, domid), tx);
  }
}

/**
 * Where a restore writes the image's home nodes: everything the guest and the toolstack
 * kept there (data/, attr/, control/, memory/, error/, feature nodes, ...), except what
 * the restoring toolstack writes itself for the new domain, as libxl does on create:
 * the identity nodes, the xenstore and console rings' nodes (new ports) and the devices
 * (written from the config for their new backends).
 */
/** The nodes quota in xenstore-control's `quota` listing ("nodes   : 1000"); 0 (none) if it is not there. */
function nodesQuota(listing: string): number {
  const m = /^nodes\s*:\s*(\d+)$/m.exec(listing);
  return m === null ? 0 : Number(m[1]);
}

export function carriedStoreNodes(nodes: readonly ImageStoreNode[]): ImageStoreNode[] {
  const toolstackOwned = /^(domid|vm|name|store|console|device|backend)(\/|$)/;
  return nodes.filter((n) => n.path !== '' && !toolstackOwned.test(n.path));
}

/**
 * A node's permissions with the old domain's id replaced by the new one (the owner
 * and any read or write grant it had), others left alone: "n5","r0" → "n7","r0".
 */
export function permsForDomid(perms: readonly string[], oldDomid: number, newDomid: number): string[] {
  return perms.map((p) => (p.length > 1 && Number(p.slice(1)) === oldDomid && /^[nrwb][0-9]+$/.test(p) ? `${p[0]}${newDomid}` : p));
}
