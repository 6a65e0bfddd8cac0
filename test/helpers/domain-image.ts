import { captureStoreHome } from '../../src/toolstack/migrate/store-home.js';
import type { DomainImage } from '../../src/toolstack/migrate/image.js';
import type { TestMachine } from './machine.js';

/**
 * A running domain's image as the codec takes it, gathered from the machine's parts
 * without suspending the guest (the codec does not care; a save suspends first,
 * Toolstack.suspendDomain).
 */
export async function imageOf(tm: TestMachine, domid: number): Promise<DomainImage> {
  const d = tm.m.hv.domains.get(domid)!;
  return {
    record: structuredClone(tm.m.toolstack.record(domid)!),
    hypervisor: d.save(tm.m.hv.clock.now()),
    kernel: structuredClone(tm.m.kernel(domid)!.save()),
    xenstore: await captureStoreHome(tm.xs, domid),
  };
}
