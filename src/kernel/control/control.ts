import { XsRequestError, type XsClient } from '../../client/xs-client.js';
import type { ShutdownReason } from '../../hypervisor/domain.js';
import type { KernelLog } from '../kernel-log.js';

/** What the toolstack may write to control/shutdown, and what the guest then does. */
const COMMANDS: Readonly<Record<string, ShutdownReason>> = {
  poweroff: 'poweroff',
  halt: 'poweroff',
  reboot: 'reboot',
  suspend: 'suspend',
};

/**
 * The guest control driver (Linux drivers/xen/manage.c, FreeBSD dev/xen/control):
 * watches ~/control/shutdown, acknowledges a request by writing "" back (in the same
 * transaction as the read, so a request is taken exactly once) before acting on it,
 * because libxl gives up on a guest that does not acknowledge within 60 s; then shuts
 * the domain down with the matching reason. It advertises what it can do in
 * ~/control/feature-*.
 */
export class ControlDriver {
  constructor(
    private readonly xs: XsClient,
    private readonly log: KernelLog,
    private readonly shutdown: (reason: ShutdownReason) => void,
  ) {}

  async start(): Promise<void> {
    // Not feature-suspend: a suspended guest cannot be saved or resumed yet, so
    // advertising it would invite `xl save` into a dead end (the save issue adds it).
    for (const feature of ['feature-poweroff', 'feature-reboot']) {
      // xenstore-paths: a guest must not treat a failure to write these as fatal.
      await this.xs.write(`control/${feature}`, '1').catch(() => {});
    }
    this.xs.onWatch((e) => {
      if (e.token === 'control-shutdown') void this.onShutdownWatch();
      else if (e.token === 'control-sysrq') void this.onSysrqWatch();
    });
    await this.xs.watch('control/shutdown', 'control-shutdown');
    await this.xs.watch('control/sysrq', 'control-sysrq');
    this.log.print('xen:manage: watching control/shutdown (poweroff, halt, reboot, suspend) and control/sysrq');
  }

  private async takeRequest(node: string): Promise<string> {
    return this.xs.transaction(async (tx) => {
      const value = (await this.xs.read(node, tx).catch(notFoundAsEmpty)).toString('latin1');
      if (value !== '') await this.xs.write(node, '', tx);
      return value;
    });
  }

  private async onShutdownWatch(): Promise<void> {
    const command = await this.takeRequest('control/shutdown').catch(() => '');
    if (command === '') return;
    const reason = COMMANDS[command];
    if (reason === undefined) {
      this.log.print(`xen:manage: Ignoring shutdown request: ${command}`);
      return;
    }
    this.log.print(`xen:manage: ${command === 'reboot' ? 'Rebooting' : command === 'suspend' ? 'Suspending' : 'Powering off'} (requested by the toolstack)`);
    this.shutdown(reason);
  }

  private async onSysrqWatch(): Promise<void> {
    const key = await this.takeRequest('control/sysrq').catch(() => '');
    if (key === '') return;
    this.log.print(`sysrq: ${key === 'c' ? 'Trigger a crash' : `key '${key}'`}`);
    if (key === 'c') this.shutdown('crash');
  }
}

function notFoundAsEmpty(err: unknown): Buffer {
  if (err instanceof XsRequestError && err.errno === 'ENOENT') return Buffer.alloc(0);
  throw err;
}
