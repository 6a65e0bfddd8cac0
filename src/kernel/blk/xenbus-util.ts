import { XsRequestError } from '../../protocol/xs-client.js';
import type { XenbusDevice } from '../xenbus/device.js';

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

/** Errno numbers the error node carries (Linux's, as its drivers print them) that src/common/errno.ts does not name. */
export const ERRNO = { EIO: 5, ENODEV: 19, EPROTO: 71 } as const;
