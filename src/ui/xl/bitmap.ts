/**
 * xl's print_bitmap() (tools/xl/xl_utils.c), a four-state scan over the first
 * `maplen` bits. Its quirks, kept on purpose:
 * - no bit set prints "none";
 * - a single run from bit 0 to the last bit prints "all", anything else prints
 *   ranges ("0-3,5", "2-7": a run that ends the map but starts later is a range);
 * - bits at or past `maplen` are never looked at.
 */
export function printBitmap(bits: readonly number[] | 'all', maplen: number): string {
  const set = bits === 'all' ? null : new Set(bits);
  const test = (i: number): boolean => set === null || set.has(i);
  let out = '';
  let firstset = 0;
  let state = 0;
  let i = 0;
  for (; i < maplen; i++) {
    switch (state) {
      case 0:
      case 2:
        if (test(i)) {
          firstset = i;
          state++;
        }
        continue;
      case 1:
      case 3:
        if (!test(i)) {
          out += `${state > 1 ? ',' : ''}${firstset}`;
          if (i - 1 > firstset) out += `-${i - 1}`;
          state = 2;
        }
        continue;
    }
  }
  // The C switch: 0 → "none"; 1 from bit 0 → "all"; 1 (falling through) or 3 → the
  // last run as a range; 2 → nothing more.
  if (state === 0) {
    out += 'none';
  } else if (state === 1 && firstset === 0) {
    out += 'all';
  } else if (state === 1 || state === 3) {
    out += `${state > 1 ? ',' : ''}${firstset}`;
    if (i - 1 > firstset) out += `-${i - 1}`;
  }
  return out;
}
