/**
 * MAC addresses as the network code handles them: six bytes in a frame, a number as a
 * map key (48 bits fit a double exactly), and the colon-separated lowercase text Xen
 * and Linux print (00:16:3e:5a:01:02).
 */

export const MAC_LEN = 6;
export const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** The six bytes at `at` as one number: a cheap, exact map key. */
export function macKey(b: Uint8Array, at: number): number {
  return (b[at]! * 0x100 + b[at + 1]!) * 0x100000000 + (((b[at + 2]! << 24) | (b[at + 3]! << 16) | (b[at + 4]! << 8) | b[at + 5]!) >>> 0);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function formatMac(b: Uint8Array, at = 0): string {
  return `${HEX[b[at]!]}:${HEX[b[at + 1]!]}:${HEX[b[at + 2]!]}:${HEX[b[at + 3]!]}:${HEX[b[at + 4]!]}:${HEX[b[at + 5]!]}`;
}

/** Parse "00:16:3e:01:02:03" (or with '-'); null when it is not six hex pairs. */
export function parseMac(text: string): Uint8Array | null {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text);
  if (m === null) return null;
  return new Uint8Array(m.slice(1).map((h) => parseInt(h, 16)));
}
