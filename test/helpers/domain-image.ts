import type { XsClient } from '../../src/protocol/xs-client.js';
import type { DomainImage, ImageStoreNode } from '../../src/toolstack/migrate/image.js';
import type { TestMachine } from './machine.js';

/** Every node under `home` (itself included, as ""), depth first, with its value and permissions. */
export async function storeSubtree(xs: XsClient, home: string): Promise<ImageStoreNode[]> {
  const out: ImageStoreNode[] = [];
  const walk = async (rel: string): Promise<void> => {
    const path = rel === '' ? home : `${home}/${rel}`;
    out.push({ path: rel, value: Uint8Array.from(await xs.read(path)), perms: await xs.getPerms(path) });
    for (const child of await xs.directory(path)) await walk(rel === '' ? child : `${rel}/${child}`);
  };
  await walk('');
  return out;
}

/**
 * A running domain's image as the codec takes it, gathered by hand from the machine's
 * parts (the toolstack's suspendDomain will make it, quiesced, once it exists): the
 * domain is paused first so nothing moves while it is read.
 */
export async function imageOf(tm: TestMachine, domid: number): Promise<DomainImage> {
  const d = tm.m.hv.domains.get(domid)!;
  return {
    record: structuredClone(tm.m.toolstack.record(domid)!),
    hypervisor: d.save(tm.m.hv.clock.now()),
    kernel: structuredClone(tm.m.kernel(domid)!.save()),
    xenstore: await storeSubtree(tm.xs, `/local/domain/${domid}`),
  };
}
