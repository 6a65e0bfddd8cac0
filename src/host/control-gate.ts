import type { AnswerGate } from './control-server.js';
import { XenemuError } from '../common/errors.js';
import type { DurabilityBarrier } from './durability.js';

/**
 * Control methods that change nothing the daemon persists: they are served even
 * while the journal cannot be written (`host status` must say why), and their
 * answers acknowledge no change, so they need not wait for the journal. Every other
 * method is taken to change state: refused while the journal fails, answered only
 * once its changes are written. A new method is therefore safe by default.
 */
const READ_ONLY_METHODS: ReadonlySet<string> = new Set([
  'ping',
  'host.status',
  'host.stop',
  'host.info',
  'domain.list',
  'domain.listLong',
  'domain.domid',
  'domain.domname',
  'domain.uptime',
  'domain.dmesg',
  // Handlers only print to the console ring (and send guests VIRQ_DEBUG): nothing persisted.
  'host.debugKeys',
  'vcpu.list',
  'cpupool.find',
  'cpupool.list',
  'sched.domain.get',
  'sched.credit.get',
  'sched.credit2.get',
  'sched.rtds.vcpuGet',
  'evtchn.list',
  'evtchn.status',
  'intr.stats',
  'intr.host',
  'xenbus.list',
  'stats.subscribe',
  'stats.select',
  'stats.interval',
  'stats.unsubscribe',
  // Keystrokes and a console client are no state the daemon keeps.
  'console.attach',
  'console.input',
  'console.detach',
]);

/** The control socket's side of the durability barrier. */
export function durableAnswers(barrier: DurabilityBarrier): AnswerGate {
  return {
    admit(method) {
      const failure = barrier.failure;
      if (failure === null || READ_ONLY_METHODS.has(method)) return;
      throw new XenemuError(failure.code, `cannot record the change: ${failure.message}; nothing was changed`);
    },
    settled(method) {
      return READ_ONLY_METHODS.has(method) ? Promise.resolve() : barrier.durable();
    },
  };
}
