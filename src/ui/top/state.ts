import { MIN_INTERVAL_MS, type SelectedDomainStats, type StatsFrame } from '../../protocol/stats.js';
import { formatDelay } from './summary.js';
import type { GridMode } from './panel.js';
import { nextSortColumn, scrollFor, sortDomains, type SortOrder } from './table.js';

/** The dashboard's state: the last frame and what the user chose. */
export interface TopState {
  frame: StatsFrame | null;
  order: SortOrder;
  /** The selected domain, followed by domid so that re-sorting keeps it. */
  selected: number | null;
  /** The first table row on screen. */
  scroll: number;
  /** Table rows on screen (set by the layout), for paging and scrolling. */
  viewRows: number;
  prompt: { label: string; value: string } | null;
  help: boolean;
  grid: GridMode;
  /** Show the IPIs that never fired too (`a`). */
  allSources: boolean;
  delayMs: number;
  /** A short note in the bottom line (a refused delay); cleared by the next key. */
  message: string | null;
  /** Set when the user asked to quit: the exit status. */
  quit: number | null;
  /** Bumped by Ctrl-L: the screen is cleared and drawn again. */
  repaint: number;
}

export function initialState(delayMs: number, viewRows = 10, allSources = false): TopState {
  return {
    frame: null,
    order: { column: 'name', reverse: false },
    selected: null,
    scroll: 0,
    viewRows,
    prompt: null,
    help: false,
    grid: 'heat',
    allSources,
    delayMs,
    message: null,
    quit: null,
    repaint: 0,
  };
}

export type TopAction =
  | { type: 'frame'; frame: StatsFrame }
  | { type: 'detail'; detail: SelectedDomainStats | null }
  | { type: 'viewport'; rows: number }
  | { type: 'move'; by: number }
  | { type: 'moveTo'; index: 'first' | 'last' }
  | { type: 'sort'; step: 1 | -1 }
  | { type: 'reverse' }
  | { type: 'grid' }
  | { type: 'allSources' }
  | { type: 'help' }
  | { type: 'promptOpen' }
  | { type: 'promptType'; text: string }
  | { type: 'promptBackspace' }
  | { type: 'promptCancel' }
  | { type: 'promptSubmit' }
  | { type: 'repaint' }
  | { type: 'quit'; code: number }
  | { type: 'keys'; input: string; key: KeyInfo };

/** The domids in display order. */
function order(state: TopState): number[] {
  return state.frame === null ? [] : sortDomains(state.frame.domains, state.order).map((d) => d.domid);
}

/** Select the domain at `index` of the display order, scrolling it into view. */
function selectIndex(state: TopState, ids: readonly number[], index: number): TopState {
  if (ids.length === 0) return { ...state, selected: null, scroll: 0 };
  const i = Math.max(0, Math.min(ids.length - 1, index));
  return { ...state, selected: ids[i]!, scroll: scrollFor(state.scroll, i, state.viewRows, ids.length) };
}

/** Keep the selection on screen after anything that moved rows around. */
function follow(state: TopState): TopState {
  const ids = order(state);
  const i = state.selected === null ? -1 : ids.indexOf(state.selected);
  return i < 0 ? state : { ...state, scroll: scrollFor(state.scroll, i, state.viewRows, ids.length) };
}

export function reduce(state: TopState, action: TopAction): TopState {
  switch (action.type) {
    case 'frame': {
      const before = order(state);
      const next = { ...state, frame: action.frame };
      const ids = order(next);
      if (state.selected === null || !ids.includes(state.selected)) {
        // Nothing selected yet, or the selected domain is gone: take the row where it was.
        const was = state.selected === null ? 0 : Math.max(0, before.indexOf(state.selected));
        return selectIndex(next, ids, was);
      }
      return follow(next);
    }
    case 'detail': {
      const f = state.frame;
      if (f === null || action.detail === null || action.detail.domid !== state.selected) return state;
      return { ...state, frame: { ...f, selected: action.detail } };
    }
    case 'viewport':
      return follow({ ...state, viewRows: Math.max(1, action.rows) });
    case 'move': {
      const ids = order(state);
      const i = state.selected === null ? 0 : ids.indexOf(state.selected);
      return selectIndex(state, ids, i + action.by);
    }
    case 'moveTo': {
      const ids = order(state);
      return selectIndex(state, ids, action.index === 'first' ? 0 : ids.length - 1);
    }
    case 'sort':
      return follow({ ...state, order: { ...state.order, column: nextSortColumn(state.order.column, action.step) } });
    case 'reverse':
      return follow({ ...state, order: { ...state.order, reverse: !state.order.reverse } });
    case 'grid':
      return { ...state, grid: state.grid === 'heat' ? 'spark' : 'heat' };
    case 'allSources':
      return { ...state, allSources: !state.allSources };
    case 'help':
      return { ...state, help: !state.help };
    case 'promptOpen':
      // xentop's set_prompt("Delay(sec)", set_delay).
      return { ...state, prompt: { label: 'Delay(sec)', value: '' } };
    case 'promptType':
      return state.prompt === null ? state : { ...state, prompt: { ...state.prompt, value: (state.prompt.value + action.text).slice(0, 79) } };
    case 'promptBackspace':
      return state.prompt === null ? state : { ...state, prompt: { ...state.prompt, value: state.prompt.value.slice(0, -1) } };
    case 'promptCancel':
      return { ...state, prompt: null };
    case 'promptSubmit': {
      if (state.prompt === null) return state;
      const value = state.prompt.value.trim();
      const seconds = Number(value);
      // xentop keeps the old delay unless the new one is positive; so do we, and say so.
      if (value === '' || !Number.isFinite(seconds) || seconds <= 0) {
        return { ...state, prompt: null, message: value === '' ? null : `"${value}" is not a positive number of seconds: delay unchanged` };
      }
      const delayMs = Math.max(MIN_INTERVAL_MS, Math.round(seconds * 1000));
      return { ...state, prompt: null, delayMs, message: delayMs === Math.round(seconds * 1000) ? null : `the shortest delay is ${formatDelay(MIN_INTERVAL_MS)}` };
    }
    case 'repaint':
      return { ...state, repaint: state.repaint + 1 };
    case 'quit':
      return { ...state, quit: action.code };
    case 'keys':
      return pressKeys(state, action.input, action.key);
  }
}

/** The control characters a chunk of typed keys may hold, as the keys Ink would have reported alone. */
const CONTROL_KEYS: Readonly<Record<string, [string, KeyInfo]>> = {
  '\r': ['', { return: true }],
  '\n': ['', { return: true }],
  '\x7f': ['', { backspace: true }],
  '\b': ['', { backspace: true }],
  '\x03': ['c', { ctrl: true }],
  '\x0c': ['l', { ctrl: true }],
};

/**
 * One chunk of input as key presses. Keys typed quickly, pasted, or sent by tmux
 * arrive as one chunk ("d0.5\r"), which Ink hands over whole (it splits escape
 * sequences only); each character is then a press, control characters included.
 * Anything else (an escape sequence, a lone key) is one press as Ink parsed it.
 */
export function splitPresses(input: string, key: KeyInfo): Array<[string, KeyInfo]> {
  const typed = (c: string) => (c >= ' ' && c <= '~') || CONTROL_KEYS[c] !== undefined;
  if (input.length <= 1 || key.meta || key.ctrl || ![...input].every(typed)) return [[input, key]];
  return [...input].map((c) => CONTROL_KEYS[c] ?? [c, {}]);
}

/**
 * Apply key presses to the state they find: each press to the state the previous
 * one left, as if they had come one by one. Done in the reducer, so a key always sees
 * the state the keys before it made, however fast they come.
 */
function pressKeys(state: TopState, input: string, key: KeyInfo): TopState {
  // A message stays until the next key.
  let s = state.message === null ? state : { ...state, message: null };
  for (const [press, info] of splitPresses(input, key)) {
    const action = keyAction(press, info, s);
    if (action !== null) s = reduce(s, action);
  }
  return s;
}

/** The parts of Ink's Key this mapping reads. */
export interface KeyInfo {
  upArrow?: boolean;
  downArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  backspace?: boolean;
  delete?: boolean;
  ctrl?: boolean;
  meta?: boolean;
}

/**
 * A key press as an action, xentop's keys where xentop has them (d, s, q, Esc, arrows,
 * Ctrl-L). While the delay prompt is open keys edit it; while help shows, any key
 * closes it.
 */
export function keyAction(input: string, key: KeyInfo, state: TopState): TopAction | null {
  if (key.ctrl && input === 'c') return { type: 'quit', code: 130 };
  if (state.prompt !== null) {
    if (key.return) return { type: 'promptSubmit' };
    if (key.escape) return { type: 'promptCancel' };
    if (key.backspace || key.delete) return { type: 'promptBackspace' };
    if (input !== '' && !key.ctrl && /^[\x20-\x7e]+$/.test(input)) return { type: 'promptType', text: input };
    return null;
  }
  if (state.help) return { type: 'help' };
  if (key.ctrl && input === 'l') return { type: 'repaint' };
  if (key.upArrow || input === 'k') return { type: 'move', by: -1 };
  if (key.downArrow || input === 'j') return { type: 'move', by: 1 };
  if (key.pageUp) return { type: 'move', by: -Math.max(1, state.viewRows - 1) };
  if (key.pageDown) return { type: 'move', by: Math.max(1, state.viewRows - 1) };
  if (key.home) return { type: 'moveTo', index: 'first' };
  if (key.end) return { type: 'moveTo', index: 'last' };
  if (key.escape) return { type: 'quit', code: 0 };
  switch (input) {
    case 'q':
    case 'Q':
      return { type: 'quit', code: 0 };
    case 'd':
    case 'D':
      return { type: 'promptOpen' };
    case 's':
      return { type: 'sort', step: 1 };
    case 'S':
      return { type: 'sort', step: -1 };
    case 'r':
    case 'R':
      return { type: 'reverse' };
    case 'g':
    case 'G':
      return { type: 'grid' };
    case 'a':
    case 'A':
      return { type: 'allSources' };
    case 'h':
    case 'H':
    case '?':
      return { type: 'help' };
    default:
      return null;
  }
}
