import test from 'ava';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { RpcClient } from '../../src/client/rpc-client.js';
import { writeHostConfig } from '../../src/state/host-config.js';
import { statePaths } from '../../src/state/state-dir.js';
import { parseDomainConfigText } from '../../src/toolstack/config/index.js';
import { startHost, tempHome, type TestHost } from '../helpers/daemon.js';

// `xenemu top` in a real terminal: tmux runs it against a daemon with busy guests,
// send-keys drives it, capture-pane reads the screen. Nothing here waits for a time:
// every step polls capture-pane until the text it expects is there, under one
// generous deadline. The tmux server is private to the test and killed at the end.

const REPO = new URL('../../', import.meta.url).pathname;
const TOP = new URL('./fixtures/xenemu-top.ts', import.meta.url).pathname;
const SOCKET = `xenemu-top-${process.pid}-${randomBytes(3).toString('hex')}`;
const DEADLINE_MS = 90_000;

let host: TestHost;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8' });
}

function capture(window: string): string {
  return tmux('capture-pane', '-p', '-t', `top:${window}.0`);
}

/** Poll the pane until `check` holds; the error shows the last screen. */
async function screenUntil(window: string, check: (screen: string) => boolean, what: string): Promise<string> {
  const end = Date.now() + DEADLINE_MS;
  let screen = '';
  for (;;) {
    screen = capture(window);
    if (check(screen)) return screen;
    if (Date.now() > end) throw new Error(`${what}: never on screen. Last screen:\n${screen}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const shows = (window: string, text: string | RegExp) =>
  screenUntil(window, (s) => (typeof text === 'string' ? s.includes(text) : text.test(s)), JSON.stringify(String(text)));

/**
 * A window running `xenemu top ARGS` at 80x24 as a user's shell would, then printing
 * its exit status and the terminal's line settings once it is gone.
 */
function openTop(window: string, args = '-d 1'): void {
  // CI=true as CI machines (and some users' shells) set it: Ink would then draw only at
  // exit, and top must still draw live on a terminal.
  const env = `env CI=true XENEMU_HOME=${host.paths.home} TERM=xterm-256color`;
  const after = 'echo "EXIT $?"; stty -a | tr ";" "\\n" | grep -Eo -- "(^| )-?(icanon|echo)( |$)" | tr -d " " | tr "\\n" " "; echo; exec sleep 3600';
  const command = `cd ${REPO} && ${env} ${process.execPath} --import tsx ${TOP} ${args}; ${after}`;
  tmux('new-window', '-d', '-n', window, '-t', 'top', 'sh', '-c', command);
}

function paneFlags(window: string): { alternate: string; cursor: string } {
  const [alternate, cursor] = tmux('display-message', '-p', '-t', `top:${window}.0`, '#{alternate_on} #{cursor_flag}').trim().split(' ');
  return { alternate: alternate!, cursor: cursor! };
}

test.before(async () => {
  const home = tempHome();
  writeHostConfig(statePaths(home).hostConfig, { pcpus: 4, memory: 16384, dom0_memory: 1024 });
  host = await startHost(home);
  const rpc = await RpcClient.connect(host.paths.control);
  for (const [name, vcpus] of [
    ['busy1', 4],
    ['busy2', 2],
  ] as const) {
    const yaml = `name: ${name}\ntype: pvh\nmemory: 128\nvcpus: ${vcpus}\nxenemu:\n  hz: 250\n  events:\n    - {name: net0, rate: 2000, handler: ithread, vcpu: 1}\n    - {name: disk0, rate: 300, handler: filter}\n`;
    await rpc.call('domain.create', { config: parseDomainConfigText(yaml, 'yaml', `${name}.yaml`).config, paused: false });
  }
  rpc.close();
  // A session whose first window only holds the server open; each test opens its own.
  tmux('new-session', '-d', '-s', 'top', '-x', '80', '-y', '24', 'sleep 3600');
  tmux('set-option', '-g', 'default-size', '80x24');
});

test.after.always(async () => {
  try {
    tmux('kill-server');
  } catch {
    // not started
  }
  // tmux leaves its socket file behind.
  rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, SOCKET), { force: true });
  await host?.dispose();
});

test.serial('the dashboard shows the domains and moving counters; keys select, sort, switch the grid and quit cleanly', async (t) => {
  openTop('main');
  await shows('main', /xenemu top - \d\d:\d\d:\d\d {3}Xen 4\.17/);
  const first = await screenUntil('main', (s) => /busy1 --b---/.test(s) && s.includes('busy2') && s.includes('Domain-0 -----r'), 'the three domains');
  if (first.split('\n').some((l) => l.length > 80)) throw new Error(`wider than 80 columns:\n${first}`);

  // Moving: the busy guests take events, and the host's clock line changes from one frame to the next.
  await screenUntil('main', (s) => /busy1 .* [1-9][0-9.]*k?\s*$/m.test(s), 'busy1 with a non-zero EVTS/s');
  const up = (s: string) => /up (\d\d:\d\d:\d\d)/.exec(s)?.[1];
  const then = up(capture('main'));
  await screenUntil('main', (s) => up(s) !== undefined && up(s) !== then, 'the uptime moving');

  // The first row (busy1, by name) is selected: its interrupts by vCPU and source below.
  await shows('main', /^> +busy1 /m);
  await shows('main', /busy1 \(1\) {2}callback /);
  await shows('main', /^total +\S+ +[0-9.]+k? +[0-9.]+k? +[0-9.]+k? +[0-9.]+k?/m);
  tmux('send-keys', '-t', 'top:main.0', 'Down');
  await shows('main', /^> +busy2 /m);
  await shows('main', /busy2 \(2\) {2}callback /);

  tmux('send-keys', '-t', 'top:main.0', 's');
  await shows('main', 'sort STATE');
  tmux('send-keys', '-t', 'top:main.0', 'g');
  await shows('main', 'last 60 s');
  tmux('send-keys', '-t', 'top:main.0', 'h');
  await shows('main', 'xenemu top: keys');
  tmux('send-keys', '-t', 'top:main.0', 'x');
  await shows('main', /^> +busy2 /m);

  tmux('send-keys', '-t', 'top:main.0', 'q');
  await shows('main', 'EXIT 0');
  // The main screen is back, the cursor shown, and the line discipline cooked again.
  const flags = paneFlags('main');
  if (flags.alternate !== '0' || flags.cursor !== '1') throw new Error(`terminal left in alternate=${flags.alternate} cursor=${flags.cursor}`);
  await shows('main', /^icanon echo *$/m);
  t.pass();
});

test.serial('a resize redraws the dashboard at the new size', async (t) => {
  openTop('resize');
  await shows('resize', /^> +busy1 /m);
  tmux('resize-window', '-t', 'top:resize', '-x', '132', '-y', '40');
  // 132 columns: room for the network and block columns too.
  const wide = await shows('resize', /MAXMEM\(k\) VCPUS NETS NETTX\(k\) NETRX\(k\) VBDS {3}VBD_OO {3}VBD_RD EVTS\/s/);
  if (wide.split('\n').length < 40) throw new Error(`not 40 lines:\n${wide}`);
  tmux('resize-window', '-t', 'top:resize', '-x', '80', '-y', '24');
  await screenUntil('resize', (s) => s.includes('EVTS/s') && !s.includes('NETTX(k)'), 'back to 80 columns');
  tmux('send-keys', '-t', 'top:resize.0', 'C-c');
  await shows('resize', 'EXIT 130');
  await shows('resize', /^icanon echo *$/m);
  t.pass();
});

test.serial('the daemon goes away: top says so, exits 1 and leaves the terminal as it was', async (t) => {
  openTop('gone');
  await shows('gone', /^> +busy1 /m);
  await host.stop();
  await shows('gone', 'xenemu top: the xenemu daemon closed the connection (it stopped or crashed)');
  await shows('gone', 'EXIT 1');
  const flags = paneFlags('gone');
  if (flags.alternate !== '0' || flags.cursor !== '1') throw new Error(`terminal left in alternate=${flags.alternate} cursor=${flags.cursor}`);
  await shows('gone', /^icanon echo *$/m);
  t.pass();
});
