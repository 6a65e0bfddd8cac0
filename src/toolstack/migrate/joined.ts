/**
 * Buffers with their neighbours in memory joined into one view (a domain's consecutive
 * frames lie in one chunk of its memory): a writev or readv of a 1024-page record is
 * then some 64 buffers, not 1025.
 */
export function joined(pieces: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of pieces) {
    const last = out[out.length - 1];
    if (last !== undefined && last.buffer === p.buffer && last.byteOffset + last.byteLength === p.byteOffset) {
      out[out.length - 1] = new Uint8Array(last.buffer, last.byteOffset, last.byteLength + p.byteLength);
    } else out.push(p);
  }
  return out;
}
