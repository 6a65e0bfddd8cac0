import test from 'ava';
import fc from 'fast-check';
import { BLKIF_REQUEST_SEGMENT, BLKIF_SEGS_PER_INDIRECT_FRAME, indirectPages, readIndirectSegments, writeIndirectSegment } from '../../src/abi/index.js';

/** `count` descriptors written one by one through DataViews (the frontend's writer), over as many pages as they need. */
function written(segments: ReadonlyArray<readonly [number, number, number]>): Uint8Array[] {
  const pages = Array.from({ length: Math.max(1, indirectPages(segments.length)) }, () => new Uint8Array(4096).fill(0xa5));
  const views = pages.map((p) => new DataView(p.buffer));
  segments.forEach(([gref, first, last], i) => writeIndirectSegment(views, i, gref, first, last));
  return pages;
}

test('an indirect page reads back as written: the gref little-endian (high bit included), then first_sect, last_sect and a zeroed pad', (t) => {
  const pages = written([
    [0xffffffff, 0, 7],
    [0x80000001, 3, 5],
    [0x01020304, 7, 7],
  ]);
  t.deepEqual(pages[0]!.subarray(0, BLKIF_REQUEST_SEGMENT.size * 2), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 7, 0, 0, 0x01, 0x00, 0x00, 0x80, 3, 5, 0, 0));
  t.deepEqual(readIndirectSegments(pages, 3), [0xffffffff, 0, 7, 0x80000001, 3, 5, 0x01020304, 7, 7]);
});

test('descriptors past the first page come from the next one, in order (property)', (t) => {
  const segment = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }));
  fc.assert(
    fc.property(fc.array(segment, { minLength: 1, maxLength: BLKIF_SEGS_PER_INDIRECT_FRAME * 2 + 3 }), (segments) => {
      t.deepEqual(readIndirectSegments(written(segments), segments.length), segments.flat());
    }),
    { numRuns: 60 },
  );
});
