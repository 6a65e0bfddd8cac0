/**
 * Buffers with their neighbours in memory joined into one view (a domain's consecutive
 * frames lie in one chunk of its memory): a writev or readv of a 1024-page record is
 * then some 64 buffers, not 1025.
 */
export function joined(pieces: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < pieces.length) {
    const first = pieces[i]!;
    let end = first.byteOffset + first.byteLength;
    let j = i + 1;
    for (; j < pieces.length; j++) {
      const p = pieces[j]!;
      if (p.buffer !== first.buffer || p.byteOffset !== end) break;
      end += p.byteLength;
    }
    out.push(j === i + 1 ? first : new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset));
    i = j;
  }
  return out;
}
