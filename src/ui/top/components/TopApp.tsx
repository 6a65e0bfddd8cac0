import { Box, useApp, useInput } from 'ink';
import { useEffect, useMemo, useReducer, useRef } from 'react';
import type { StatsFeed } from '../feed.js';
import { History } from '../history.js';
import { domainRowsShown, screenLayout } from '../layout.js';
import { panelNeeds } from '../panel.js';
import { initialState, reduce } from '../state.js';
import { DomainTable } from './DomainTable.js';
import { Footer } from './Footer.js';
import { Help } from './Help.js';
import { InterruptPanel } from './InterruptPanel.js';
import { Lines } from './Lines.js';
import { Summary } from './Summary.js';
import { useTerminalSize, type TerminalSize } from './use-terminal-size.js';

export interface TopAppProps {
  feed: StatsFeed;
  /** The delay the feed was subscribed with. */
  delayMs: number;
  /** false under NO_COLOR. */
  color: boolean;
  /** A fixed size (tests); by default the terminal's, following resizes. */
  size?: TerminalSize;
  /** Whether to read keys (false when stdin is not a terminal). */
  keys?: boolean;
  /** Start with the IPIs that never fired shown (`top -a`; the `a` key toggles it). */
  allSources?: boolean;
  /** The user quit: the exit status (0 for q, 130 for Ctrl-C). */
  onQuit(status: number): void;
  /** Ctrl-L: clear the screen; the dashboard draws itself again right after. */
  onRepaint?(): void;
}

/**
 * The dashboard: state in one reducer (src/ui/top/state.ts), the screen cut into the
 * summary, the domain table, the interrupt panel and the bottom line. Side effects
 * live here only: telling the daemon what is selected and how often to sample,
 * quitting, repainting.
 */
export function TopApp({ feed, delayMs, color, size, keys = true, allSources = false, onQuit, onRepaint }: TopAppProps) {
  const { columns, rows } = useTerminalSize(size);
  const [state, dispatch] = useReducer(reduce, delayMs, (ms) => initialState(ms, undefined, allSources));
  const history = useRef(new History());
  const { exit } = useApp();

  useEffect(
    () =>
      feed.onFrame((frame) => {
        history.current.push(frame);
        dispatch({ type: 'frame', frame });
      }),
    [feed],
  );

  // The daemon samples only the selected domain's detail: tell it when the selection moves.
  useEffect(() => {
    if (state.selected === null) return;
    let live = true;
    feed
      .select(state.selected)
      .then((detail) => live && dispatch({ type: 'detail', detail }))
      .catch(() => {}); // a lost daemon is reported by onLost
    return () => {
      live = false;
    };
  }, [feed, state.selected]);

  const firstDelay = useRef(true);
  useEffect(() => {
    if (firstDelay.current) {
      firstDelay.current = false;
      return;
    }
    feed.setInterval(state.delayMs).catch(() => {});
  }, [feed, state.delayMs]);

  useEffect(() => {
    if (state.quit === null) return;
    onQuit(state.quit);
    exit();
  }, [state.quit, onQuit, exit]);

  useInput(
    (input, key) => {
      // Ctrl-L clears at once; the render the key causes then draws on a blank screen.
      if (key.ctrl && input === 'l') onRepaint?.();
      dispatch({ type: 'keys', input, key });
    },
    { isActive: keys },
  );

  const frame = state.frame;
  const detail = frame?.selected ?? null;
  const domains = frame?.domains.length ?? 0;
  // A fourth summary line names the faults in force, while there are any.
  const summaryWants = (frame?.host.faults.length ?? 0) > 0 ? 4 : 3;
  const layout = useMemo(
    () => screenLayout(rows, domains, panelNeeds(detail, state.allSources), summaryWants),
    [rows, domains, detail, state.allSources, summaryWants],
  );
  // The selection stays among the rows shown, above the "more" line.
  const shownRows = domainRowsShown(layout.tableRows, domains);
  useEffect(() => dispatch({ type: 'viewport', rows: shownRows }), [shownRows]);

  const body = layout.tableRows + 1 + layout.panel;
  const pendingName = frame?.domains.find((d) => d.domid === state.selected)?.name ?? null;
  return (
    <Box flexDirection="column" width={columns} height={rows}>
      {frame === null ? (
        <Lines lines={[[{ text: 'xenemu top: waiting for the first sample…' }]]} color={color} />
      ) : (
        <>
          {layout.summary > 0 && <Summary frame={frame} width={columns} height={layout.summary} color={color} />}
          {state.help ? (
            <Help width={columns} height={body} color={color} />
          ) : (
            <>
              <DomainTable frame={frame} order={state.order} selected={state.selected} scroll={state.scroll} rows={layout.tableRows} width={columns} color={color} />
              {layout.panel > 0 && (
                <InterruptPanel
                  detail={detail !== null && detail.domid === state.selected ? detail : null}
                  pendingName={pendingName}
                  history={history.current}
                  nowMs={frame.timeMs}
                  mode={state.grid}
                  intervalMs={state.delayMs}
                  width={columns}
                  height={layout.panel}
                  allSources={state.allSources}
                  color={color}
                />
              )}
            </>
          )}
          <Footer width={columns} prompt={state.prompt} message={state.message} order={state.order} delayMs={state.delayMs} gridMode={state.grid} color={color} />
        </>
      )}
    </Box>
  );
}
