/**
 * io/ring.h against our TypeScript, operation for operation: a C program built on
 * DEFINE_RING_TYPES(blkif, ...) from /usr/include/xen/io/blkif.h (the real macros:
 * SHARED_RING_INIT, FRONT/BACK_RING_ATTACH, RING_GET_REQUEST/RESPONSE,
 * RING_PUSH_*_AND_CHECK_NOTIFY, RING_FINAL_CHECK_FOR_*, RING_HAS_UNCONSUMED_*,
 * RING_REQUEST_CONS_OVERFLOW) and FrontRing/BackRing run the same script. Every
 * notify decision, every final check and the ring memory at the end (header and
 * slots, byte for byte) must agree, with the indices starting just below 2^32 so they
 * wrap, on one page and on four, and on four pages that are not adjacent.
 *
 * The script is a fixed pseudo-random sequence of ring operations; neither side
 * decides anything the other does not (both clamp a batch to what the ring allows
 * with the same macros).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackRing, contiguousPages, FrontRing, ringPages, RING_HEADER_SIZE, ringSize, SharedRing, SRING_PROTOCOLS } from '../../src/abi/index.js';
import { needing } from '../helpers/needing.js';

const HEADER_ROOT = '/usr/include';

function missingPrereqs(): string | null {
  if (process.env['XENEMU_SKIP_C_ABI'] === '1') return 'XENEMU_SKIP_C_ABI=1';
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'gcc is not installed (Debian: apt-get install gcc)';
  }
  if (!existsSync(join(HEADER_ROOT, 'xen/io/blkif.h'))) return `${HEADER_ROOT}/xen/io/blkif.h is missing (Debian: apt-get install libxen-dev)`;
  return null;
}

/** The interpreter, in C over the real macros. One output line per observable step. */
const PROGRAM = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
/* ring.h leaves the barriers to its includer (Xen and the kernels define them). */
#define xen_mb()  __sync_synchronize()
#define xen_rmb() __asm__ __volatile__("" ::: "memory")
#define xen_wmb() __asm__ __volatile__("" ::: "memory")
#include <xen/io/blkif.h>

/* FreeBSD's io/ring.h names, absent from Xen 4.17's: checked against ours below. */
#define __RING_HEADER_SIZE(_s) ((intptr_t)(_s)->ring - (intptr_t)(_s))
#define __RING_PAGES(_s, _entries) \
    ((__RING_HEADER_SIZE(_s) + (((unsigned int)_entries) * sizeof((_s)->ring[0])) + 4096 - 1) / 4096)

int main(int argc, char **argv) {
    unsigned pages = atoi(argv[1]);
    RING_IDX start = (RING_IDX)strtoul(argv[2], NULL, 10);
    const char *script = argv[3];
    size_t bytes = pages * 4096;
    blkif_sring_t *s = aligned_alloc(4096, bytes);
    memset(s, 0, bytes);
    blkif_front_ring_t front;
    blkif_back_ring_t back;
    SHARED_RING_INIT(s);
    FRONT_RING_ATTACH(&front, s, start, bytes);
    BACK_RING_ATTACH(&back, s, start, bytes);
    s->req_prod = s->rsp_prod = start;
    s->req_event = s->rsp_event = start + 1;
    printf("S %u %ld %lu %lu\n", RING_SIZE(&front), (long)__RING_HEADER_SIZE(s),
           (unsigned long)__RING_PAGES(s, 32), (unsigned long)__RING_PAGES(s, 128));
    uint64_t next_id = 1;
    const char *p = script;
    while (*p) {
        char op = *p++;
        unsigned n = 0;
        while (*p >= '0' && *p <= '9') n = n * 10 + (*p++ - '0');
        while (*p == ' ') p++;
        int notify = 0, work = 0;
        switch (op) {
        case 'q': {
            unsigned k = 0;
            while (k < n && !RING_FULL(&front)) {
                blkif_request_t *req = RING_GET_REQUEST(&front, front.req_prod_pvt++);
                uint64_t id = next_id++;
                req->operation = id % 4;
                req->nr_segments = id % 12;
                req->handle = 0x1234;
                req->id = id;
                req->sector_number = id * 8;
                for (unsigned g = 0; g < req->nr_segments; g++) {
                    req->seg[g].gref = (grant_ref_t)(id + g);
                    req->seg[g].first_sect = g % 8;
                    req->seg[g].last_sect = 7;
                }
                k++;
            }
            printf("q %u\n", k);
            break;
        }
        case 'P': RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify); printf("P %d\n", notify); break;
        case 'p': RING_PUSH_REQUESTS(&front); break;
        case 'b': {
            unsigned k = 0;
            while (k < n && RING_HAS_UNCONSUMED_REQUESTS(&back) && !RING_REQUEST_CONS_OVERFLOW(&back, back.req_cons)) {
                blkif_request_t req;
                RING_COPY_REQUEST(&back, back.req_cons, &req);
                back.req_cons++;
                blkif_response_t *rsp = RING_GET_RESPONSE(&back, back.rsp_prod_pvt++);
                rsp->id = req.id;
                rsp->operation = req.operation;
                rsp->status = req.id % 3 == 0 ? BLKIF_RSP_ERROR : BLKIF_RSP_OKAY;
                k++;
            }
            printf("b %u %u\n", k, (unsigned)RING_HAS_UNCONSUMED_REQUESTS(&back));
            break;
        }
        case 'R': RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&back, notify); printf("R %d\n", notify); break;
        case 'r': RING_PUSH_RESPONSES(&back); break;
        case 'F': RING_FINAL_CHECK_FOR_REQUESTS(&back, work); printf("F %d\n", work != 0); break;
        case 'f': {
            unsigned k = 0;
            uint32_t sum = 0;
            while (k < n && RING_HAS_UNCONSUMED_RESPONSES(&front)) {
                blkif_response_t *rsp = RING_GET_RESPONSE(&front, front.rsp_cons);
                sum += (uint32_t)rsp->id * 7 + (uint32_t)(rsp->status + 2) + rsp->operation;
                front.rsp_cons++;
                k++;
            }
            printf("f %u %u\n", k, sum);
            break;
        }
        case 'G': RING_FINAL_CHECK_FOR_RESPONSES(&front, work); printf("G %d\n", work != 0); break;
        case 'H': printf("H %u %u %u %u\n", s->req_prod, s->req_event, s->rsp_prod, s->rsp_event); break;
        default: fprintf(stderr, "bad op %c\n", op); return 2;
        }
    }
    printf("M ");
    for (size_t i = 0; i < bytes; i++) printf("%02x", ((unsigned char *)s)[i]);
    printf("\n");
    return 0;
}
`;

const BLKIF = SRING_PROTOCOLS.blkif.slotBytes;

/** The same interpreter over FrontRing/BackRing, with blkif's field offsets (layouts.md §4). */
function runTs(pages: Uint8Array[], start: number, script: string): string[] {
  const out: string[] = [];
  const sring = new SharedRing(pages, BLKIF);
  sring.init();
  const front = new FrontRing(sring, start);
  const back = new BackRing(sring, start);
  sring.reqProd = start;
  sring.rspProd = start;
  sring.reqEvent = (start + 1) >>> 0;
  sring.rspEvent = (start + 1) >>> 0;
  out.push(`S ${sring.size} ${RING_HEADER_SIZE} ${ringPages(BLKIF, 32)} ${ringPages(BLKIF, 128)}`);
  let nextId = 1;
  const copy = new Uint8Array(BLKIF);
  const copyView = new DataView(copy.buffer);
  for (const token of script.split(' ')) {
    const op = token[0]!;
    const n = Number(token.slice(1) || '0');
    switch (op) {
      case 'q': {
        let k = 0;
        while (k < n && !front.isFull()) {
          const { view, offset } = front.nextRequest();
          const id = nextId++;
          const segs = id % 12;
          view.setUint8(offset, id % 4);
          view.setUint8(offset + 1, segs);
          view.setUint16(offset + 2, 0x1234, true);
          view.setBigUint64(offset + 8, BigInt(id), true);
          view.setBigUint64(offset + 16, BigInt(id * 8), true);
          for (let g = 0; g < segs; g++) {
            view.setUint32(offset + 24 + 8 * g, id + g, true);
            view.setUint8(offset + 28 + 8 * g, g % 8);
            view.setUint8(offset + 29 + 8 * g, 7);
          }
          k++;
        }
        out.push(`q ${k}`);
        break;
      }
      case 'P':
        out.push(`P ${Number(front.pushRequestsAndCheckNotify())}`);
        break;
      case 'p':
        front.pushRequests();
        break;
      case 'b': {
        let k = 0;
        while (k < n && back.hasUnconsumedRequests() && !back.requestConsOverflow(back.reqCons)) {
          // RING_COPY_REQUEST, then req_cons++, as the C side does.
          back.copyRequest(back.reqCons, copy);
          back.reqCons = (back.reqCons + 1) >>> 0;
          const id = copyView.getBigUint64(8, true);
          const operation = copyView.getUint8(0);
          const rsp = back.nextResponse();
          rsp.view.setBigUint64(rsp.offset, id, true);
          rsp.view.setUint8(rsp.offset + 8, operation);
          rsp.view.setInt16(rsp.offset + 10, id % 3n === 0n ? -1 : 0, true);
          k++;
        }
        out.push(`b ${k} ${back.unconsumedRequests()}`);
        break;
      }
      case 'R':
        out.push(`R ${Number(back.pushResponsesAndCheckNotify())}`);
        break;
      case 'r':
        back.pushResponses();
        break;
      case 'F':
        out.push(`F ${Number(back.finalCheckForRequests())}`);
        break;
      case 'f': {
        let k = 0;
        let sum = 0;
        while (k < n && front.hasUnconsumedResponses()) {
          const { view, offset } = front.takeResponse()!;
          const id = Number(view.getBigUint64(offset, true) & 0xffffffffn);
          sum = (sum + Math.imul(id, 7) + (view.getInt16(offset + 10, true) + 2) + view.getUint8(offset + 8)) >>> 0;
          k++;
        }
        out.push(`f ${k} ${sum}`);
        break;
      }
      case 'G':
        out.push(`G ${Number(front.finalCheckForResponses())}`);
        break;
      case 'H':
        out.push(`H ${sring.reqProd} ${sring.reqEvent} ${sring.rspProd} ${sring.rspEvent}`);
        break;
      default:
        throw new Error(`bad op ${op}`);
    }
  }
  out.push(`M ${Buffer.concat(pages).toString('hex')}`);
  return out;
}

/** A fixed pseudo-random script (a 32-bit LCG), biased so the ring fills, drains and idles. */
function script(steps: number, size: number, seed: number): string {
  let x = seed >>> 0;
  const rnd = (m: number): number => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x % m;
  };
  const ops: string[] = ['H'];
  for (let i = 0; i < steps; i++) {
    const batch = 1 + rnd(rnd(4) === 0 ? size : 8);
    const pick = rnd(12);
    ops.push(['q', 'q', 'P', 'p', 'b', 'b', 'R', 'r', 'F', 'f', 'G', 'H'][pick]! + (pick <= 1 || pick === 4 || pick === 5 || pick === 9 ? String(batch) : ''));
  }
  // Drain everything at the end, so the final memory holds the last responses.
  ops.push(`q${size}`, 'P', `b${size}`, 'R', `f${size}`, 'F', 'G', 'H');
  return ops.join(' ');
}

function runC(pages: number, start: number, ops: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'xenemu-ring-'));
  try {
    const src = join(dir, 'ring.c');
    const bin = join(dir, 'ring');
    writeFileSync(src, PROGRAM);
    execFileSync('gcc', ['-D__XEN_TOOLS__', `-I${HEADER_ROOT}`, '-std=gnu11', '-O1', '-o', bin, src], { stdio: ['ignore', 'ignore', 'pipe'] });
    return execFileSync(bin, [String(pages), String(start), ops], { encoding: 'utf8', maxBuffer: 1 << 24 }).trim().split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const withC = needing(missingPrereqs());

const CASES: Array<{ pages: number; start: number; seed: number; layout: 'adjacent' | 'scattered' }> = [
  { pages: 1, start: 0, seed: 1, layout: 'adjacent' },
  { pages: 1, start: 2 ** 32 - 37, seed: 2, layout: 'adjacent' },
  { pages: 4, start: 2 ** 32 - 300, seed: 3, layout: 'adjacent' },
  { pages: 4, start: 2 ** 32 - 300, seed: 3, layout: 'scattered' },
  { pages: 2, start: 2 ** 31 - 5, seed: 4, layout: 'scattered' },
];

for (const c of CASES) {
  withC(`io/ring.h and FrontRing/BackRing agree step by step: ${c.pages} page(s), ${c.layout}, indices from ${c.start}`, (t) => {
    const size = ringSize(BLKIF, c.pages * 4096);
    const ops = script(600, size, c.seed);
    const expected = runC(c.pages, c.start, ops);
    const pages = c.layout === 'adjacent' ? contiguousPages(c.pages) : Array.from({ length: c.pages }, () => new Uint8Array(4096));
    const got = runTs(pages, c.start, ops);
    t.is(got.length, expected.length);
    const firstDiff = got.findIndex((line, i) => line !== expected[i]);
    t.is(firstDiff, -1, firstDiff < 0 ? '' : `step ${firstDiff}: C says ${expected[firstDiff]!.slice(0, 80)}, TypeScript ${got[firstDiff]!.slice(0, 80)}`);
    if (c.start > 2 ** 32 - 1000) {
      const last = expected.filter((l) => l.startsWith('H ')).pop()!.split(' ').map(Number);
      t.true(last[1]! < c.start, `req_prod wrapped past 2^32 (ends at ${last[1]})`);
    }
    t.true(expected.filter((l) => l === 'P 1' || l === 'R 1').length > 0 && expected.filter((l) => l === 'P 0' || l === 'R 0').length > 0, 'the script saw both notify decisions');
  });
}
