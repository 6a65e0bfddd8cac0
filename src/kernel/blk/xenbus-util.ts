import { XenbusState } from '../../abi/index.js';
import { XsRequestError } from '../../protocol/xs-client.js';
import type { XenbusDevice } from '../xenbus/device.js';
import type { KernelLog } from '../kernel-log.js';

/** A node of the device's, as text, or undefined when it does not exist. */
export async function readOptional(dev: XenbusDevice, name: string): Promise<string | undefined> {
  try {
    return await dev.read(name);
  } catch (err) {
    if (err instanceof XsRequestError && err.errno === 'ENOENT') return undefined;
    throw err;
  }
}

/** A node of the other end's, as text, or undefined when it does not exist. */
export async function readOtherendOptional(dev: XenbusDevice, name: string): Promise<string | undefined> {
  try {
    return (await dev.xs.read(`${dev.otherend!.path}/${name}`)).toString('latin1');
  } catch (err) {
    if (err instanceof XsRequestError && err.errno === 'ENOENT') return undefined;
    throw err;
  }
}

/** An unsigned decimal node value, or undefined when absent or not a number (a missing key means its default). */
export function parseUnsigned(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]{1,15}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

/**
 * xenbus_dev_fatal: log, publish `error/<node>/error` = "<errno> <message>" below the
 * kernel's home (Linux's xenbus_va_dev_error and FreeBSD's xenbus_dev_verror write it
 * there), and go Closing, so the other end sees why and is not left waiting. Never
 * throws: a device that cannot even say it failed is already lost.
 */
export async function devFatal(dev: XenbusDevice, log: KernelLog, who: string, errno: number, message: string): Promise<void> {
  log.print(`${who}: ${dev.node}: ${message}`);
  await dev.xs.write(`error/${dev.node}/error`, `${errno} ${message}`).catch(() => {});
  await dev.setState(XenbusState.Closing).catch(() => {});
}

/** Errno numbers the error node carries (Linux's, as its drivers print them). */
export const ERRNO = { EIO: 5, ENOMEM: 12, EINVAL: 22, ENODEV: 19, ENOSPC: 28, EPROTO: 71 } as const;
