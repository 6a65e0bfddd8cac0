import { XenemuError } from '../common/errors.js';
import type { Domain } from '../hypervisor/domain.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Machine } from './machine.js';

/**
 * The kernel of a domain that runs one: what the commands that look inside a guest
 * (its interrupts, its XenBus devices) need. EAGAIN while it has not booted (a
 * paused domain) or after it halted.
 */
export function bootedKernel(machine: Machine, d: Domain): Kernel {
  const k = machine.kernel(d.domid);
  if (k === undefined || k.intr === undefined || k.state === 'created') {
    throw new XenemuError('EAGAIN', `domain ${d.domid} (${d.name}) has not booted its kernel yet${d.paused ? ' (it is paused: xenemu unpause it)' : ''}`);
  }
  if (k.state === 'halted') throw new XenemuError('EAGAIN', `domain ${d.domid} (${d.name}) has halted (${d.shutdownReason ?? 'stopped'})`);
  return k;
}
