import { readFileSync } from 'node:fs';
import { decodeHeader, FRAME_HEADER_SIZE, HEADER_SIZE, forEachEntry, readFrames, type EntryVisitor, type JournalPosition } from './journal-codec.js';
import { journalPath, listJournals } from './journal.js';
import type { Dropped } from '../../state/last-start.js';

export type { Dropped };

/** What the database says about where the journal must continue it. */
export interface ScanTarget {
  /** How far into the journal the database is. */
  readonly applied: JournalPosition;
  /** The database's identity; every journal file must name it... */
  readonly storeId: string;
  /** ...except version 1 files, which name none: accepted when this is true. */
  readonly acceptUnnamed: boolean;
}

/** Frames to replay: data[from, to) holds whole frames whose CRCs were checked. */
export interface Replay {
  readonly data: Buffer;
  readonly from: number;
  readonly to: number;
}

export interface JournalScan {
  /** Every journal file, ascending. */
  readonly seqs: readonly number[];
  readonly replays: readonly Replay[];
  /** Files that hold history recovery cannot apply: to be moved aside, never deleted. */
  readonly damaged: readonly number[];
  /** Bytes of a write torn by a crash at the end of the newest file (never acknowledged). */
  readonly tornBytes: number;
  /** One sentence per problem found, naming the file and the byte. */
  readonly problems: readonly string[];
  readonly dropped: Dropped;
}

/**
 * Read the journal files in `dir` and decide, without changing anything, what
 * recovery replays and what is damage.
 *
 * The replay is always a prefix of the acknowledged history, never a mix: it stops at
 * the first frame that fails its checks and at any file that does not continue
 * exactly where it got to (see prevEnd in journal-codec.ts). What it stops at is one
 * of two things:
 *
 * - A torn tail: the last write(2) of the newest file, cut short by a crash (or, after
 *   a power cut, zeros where it should be). It was never acknowledged, since the
 *   daemon replies only after the write returns. Dropped silently: the normal crash.
 * - Damage: anything else. A bad frame with a valid frame anywhere after it (a
 *   flipped byte, not a tear: only the last write can be torn), a bad header, a file
 *   of another store, a gap between files. Each acknowledged history that cannot be
 *   applied, so each is a problem that the caller must report and keep.
 */
export function scanJournal(dir: string, target: ScanTarget): JournalScan {
  const seqs = listJournals(dir);
  const newest = seqs[seqs.length - 1];
  const replays: Replay[] = [];
  const damaged: number[] = [];
  const problems: string[] = [];
  const dropped: Dropped = { frames: 0, entries: 0, bytes: 0, files: 0 };
  let tornBytes = 0;
  let pos = target.applied;
  let stopped = false;

  const drop = (seq: number, data: Buffer, from: number, problem: string): void => {
    let frames = 0;
    let entries = 0;
    salvage(data, from, (bodyFrom, bodyTo) => {
      frames++;
      entries += countEntries(data, bodyFrom, bodyTo);
    });
    const bytes = data.length - from;
    problems.push(`${journalPath(dir, seq)}: ${problem}; not applied: ${bytes} bytes from byte ${from} on, holding ${frames} frames (${entries} entries) that pass their checksums`);
    damaged.push(seq);
    dropped.files++;
    dropped.frames += frames;
    dropped.entries += entries;
    dropped.bytes += bytes;
  };

  if (target.applied.seq > 0 && !seqs.includes(target.applied.seq)) {
    problems.push(`${journalPath(dir, target.applied.seq)} is missing: the database continues in it (from byte ${target.applied.offset})`);
    stopped = true;
  }

  for (const seq of seqs) {
    const data = readFileSync(journalPath(dir, seq));
    const header = decodeHeader(data);
    if (header === null) {
      // Created, then cut off (or left unwritten by a power cut) before its header was whole.
      if (seq === newest && (data.length < HEADER_SIZE || isZero(data))) tornBytes += data.length;
      else drop(seq, data, 0, 'not a journal file (its header is unreadable or fails its checksum)');
      continue;
    }
    if (header.seq !== seq) {
      drop(seq, data, 0, `its header says it is journal.${header.seq}`);
      continue;
    }
    if (header.storeId === null ? !target.acceptUnnamed : header.storeId !== target.storeId) {
      const whose = header.storeId === null ? 'a store without identity' : `store ${header.storeId}`;
      drop(seq, data, 0, `belongs to ${whose}, but the database is store ${target.storeId}`);
      continue;
    }
    if (seq < target.applied.seq) continue; // applied already, by the database's own account
    const hasFrames = data.length > header.size;
    let start = -1;
    if (!stopped) {
      if (seq === pos.seq) start = pos.offset;
      else if (seq === pos.seq + 1 && header.prevEnd === pos.offset) start = header.size;
    }
    if (start < 0) {
      // A file with no frames carries nothing (a rotation cut short); one with frames is lost history.
      if (hasFrames) drop(seq, data, header.size, stopped ? 'follows a file recovery could not finish' : `does not continue journal.${pos.seq} at byte ${pos.offset} (it starts after byte ${header.prevEnd} of journal.${seq - 1})`);
      stopped = true;
      continue;
    }
    // A file shorter than the applied position lost its tail in a power cut after
    // SQLite had it: nothing to replay, and SQLite's position stands.
    const end = readFrames(data, start, data.length, true, () => {});
    if (end > start) replays.push({ data, from: start, to: end });
    pos = { seq, offset: end };
    if (end >= data.length) continue;
    stopped = true;
    if (seq === newest && !salvage(data, end, () => {})) {
      tornBytes += data.length - end;
      continue;
    }
    drop(seq, data, end, `the frame at byte ${end} is corrupt, and journal data follows it`);
  }
  return { seqs, replays, damaged, tornBytes, problems, dropped };
}

/**
 * Visit every frame in data[from, end) that passes its CRC, resynchronising after
 * bad bytes by trying each following offset; returns whether there was any. A CRC-32
 * matching by chance is a 1 in 2^32 event per candidate, so what this finds is
 * written frames: data after a bad frame that a torn write cannot explain.
 */
function salvage(data: Buffer, from: number, visit: (bodyStart: number, bodyEnd: number) => void): boolean {
  let found = false;
  let at = from;
  while (at + FRAME_HEADER_SIZE <= data.length) {
    const next = readFrames(data, at, data.length, true, (bodyStart, bodyEnd) => {
      found = true;
      visit(bodyStart, bodyEnd);
    });
    at = next > at ? next : at + 1;
  }
  return found;
}

function isZero(data: Buffer): boolean {
  for (const byte of data) if (byte !== 0) return false;
  return true;
}

const ignore: EntryVisitor = { set() {}, rm() {}, putMeta() {}, deleteMeta() {} };

/** Entries in a frame body, or 0 if it does not decode (it is being dropped either way). */
function countEntries(data: Buffer, from: number, to: number): number {
  try {
    return forEachEntry(data, from, to, ignore);
  } catch {
    return 0;
  }
}
