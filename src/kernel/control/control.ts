import type { ShutdownReason } from '../../hypervisor/domain.js';
import { XsRequestError } from '../../protocol/xs-client.js';
import type { KernelLog } from '../kernel-log.js';
import type { XenbusDevice } from '../xenbus/device.js';
import type { XenbusDriver } from '../xenbus/driver.js';

/** Faults put on the guest on purpose: whether it ignores a shutdown request. */
export interface ShutdownFaults {
  /** Whether any such fault may apply (else the request is taken at once). */
  armed(): boolean;
  ignores(command: string): boolean;
}

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
 *
 * It is a child of xenstore (FreeBSD's xctrl), not a device a bus found: it identifies
 * its own node, `control`. dom0 has none: the host stops it, not a XenStore request.
 */
export class ControlDriver implements XenbusDriver {
  readonly name = 'xctrl';

  constructor(
    private readonly log: KernelLog,
    private readonly shutdown: (reason: ShutdownReason) => void,
    private readonly sysrq: (key: string) => void,
    private readonly initialDomain: boolean,
    private readonly faults: ShutdownFaults | null = null,
  ) {}

  identify(): string | null {
    return this.initialDomain ? null : 'control';
  }

  probe(dev: XenbusDevice): boolean {
    return dev.type === this.name;
  }

  async attach(dev: XenbusDevice): Promise<void> {
    // feature-suspend: the kernel suspends and resumes (in the same domain or a new one).
    for (const feature of ['feature-poweroff', 'feature-reboot', 'feature-suspend']) {
      // xenstore-paths: a guest must not treat a failure to write these as fatal.
      await dev.xs.write(`${dev.node}/${feature}`, '1').catch(() => {});
    }
    await dev.xs.watch(`${dev.node}/shutdown`, 'control-shutdown', () => void this.onShutdownWatch(dev));
    await dev.xs.watch(`${dev.node}/sysrq`, 'control-sysrq', () => void this.onSysrqWatch(dev));
    this.log.print('xen:manage: watching control/shutdown (poweroff, halt, reboot, suspend) and control/sysrq');
  }

  async detach(dev: XenbusDevice): Promise<void> {
    await dev.xs.unwatch(`${dev.node}/shutdown`, 'control-shutdown');
    await dev.xs.unwatch(`${dev.node}/sysrq`, 'control-sysrq');
  }

  private async takeRequest(dev: XenbusDevice, name: string): Promise<string> {
    const { xs } = dev;
    const node = `${dev.node}/${name}`;
    return xs.transaction(async (tx) => {
      const value = (await xs.read(node, tx).catch(notFoundAsEmpty)).toString('latin1');
      if (value !== '') await xs.write(node, '', tx);
      return value;
    });
  }

  private async onShutdownWatch(dev: XenbusDevice): Promise<void> {
    if (this.faults?.armed()) {
      // A guest made unresponsive (fault guest-unresponsive) leaves the request there, unacknowledged.
      const pending = (await dev.xs.read(`${dev.node}/shutdown`).catch(() => Buffer.alloc(0))).toString('latin1');
      if (pending !== '' && this.faults.ignores(pending)) return;
    }
    const command = await this.takeRequest(dev, 'shutdown').catch(() => '');
    if (command === '') return;
    const reason = COMMANDS[command];
    if (reason === undefined) {
      this.log.print(`xen:manage: Ignoring shutdown request: ${command}`);
      return;
    }
    this.log.print(`xen:manage: ${command === 'reboot' ? 'Rebooting' : command === 'suspend' ? 'Suspending' : 'Powering off'} (requested by the toolstack)`);
    this.shutdown(reason);
  }

  /** manage.c's sysrq_handler: the first character is the key (xenbus_scanf "%c"). */
  private async onSysrqWatch(dev: XenbusDevice): Promise<void> {
    const request = await this.takeRequest(dev, 'sysrq').catch(() => '');
    if (request === '') return;
    this.sysrq(request[0]!);
  }
}

function notFoundAsEmpty(err: unknown): Buffer {
  if (err instanceof XsRequestError && err.errno === 'ENOENT') return Buffer.alloc(0);
  throw err;
}
