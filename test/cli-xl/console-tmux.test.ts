import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { needing } from '../helpers/needing.js';
import { assertXlBuilt, REPO, scratchFile, xlHost, type XlHost } from './helpers.js';

// `xenemu console` in a real terminal: tmux runs it, send-keys types, capture-pane
// reads the screen. Each window runs the console as a user's shell would and, once it
// is gone, prints its exit status and the terminal's icanon/echo settings: the proof
// that the terminal came back from raw mode. Every step polls the screen for the text
// it expects under one generous deadline; nothing waits for a time. The tmux server is
// private to the test and killed at the end, with every process in it.

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const tmuxTest = needing(hasTmux ? null : 'tmux is not installed (apt-get install tmux)', { serial: true });

const SOCKET = `xenemu-console-${process.pid}-${randomBytes(3).toString('hex')}`;
const DEADLINE_MS = 60_000;

let h: XlHost | undefined;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8' });
}

const capture = (window: string): string => tmux('capture-pane', '-p', '-S', '-200', '-t', `con:${window}.0`);

async function shows(window: string, text: string | RegExp): Promise<string> {
  const end = Date.now() + DEADLINE_MS;
  for (;;) {
    const screen = capture(window);
    if (typeof text === 'string' ? screen.includes(text) : text.test(screen)) return screen;
    if (Date.now() > end) throw new Error(`${String(text)}: never on screen. Last screen:\n${screen}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What the window prints once the command is gone: its status, then icanon/echo as stty shows them. */
const AFTER = 'echo "EXIT $?"; stty -a | tr ";" "\\n" | grep -Eo -- "(^| )-?(icanon|echo)( |$)" | tr -d " " | tr "\\n" " "; echo; exec sleep 3600';

function open(window: string, command: string): void {
  tmux('new-window', '-d', '-n', window, '-t', 'con', 'sh', '-c', `cd ${REPO} && env XENEMU_HOME=${h!.host.paths.home} TERM=xterm ${command}; ${AFTER}`);
}

/** The pid of the command the window's shell runs (its one child). */
function commandPid(window: string): number {
  const shell = tmux('display-message', '-p', '-t', `con:${window}.0`, '#{pane_pid}').trim();
  const children = readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(/\s+/);
  if (children.length !== 1) throw new Error(`window ${window}: its shell has children ${children.join(' ')}`);
  return Number(children[0]);
}

const SANE = /EXIT 0\n.*\bicanon echo\b/;

test.before(async () => {
  if (!hasTmux) return;
  assertXlBuilt();
  h = await xlHost();
  for (const name of ['t1', 't3']) {
    const r = await h.xl('create', '-q', scratchFile(`${name}.yaml`, `name: ${name}\ntype: pv\nmemory: 64\n`));
    if (r.code !== 0) throw new Error(r.stderr);
  }
  tmux('new-session', '-d', '-s', 'con', '-x', '100', '-y', '40', 'sleep 3600');
});

test.after.always(async () => {
  if (hasTmux) {
    try {
      tmux('kill-server');
    } catch {
      // not started
    }
    rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, SOCKET), { force: true });
  }
  await h?.dispose();
});

tmuxTest('console shows the boot log, answers uname, and Ctrl-] gives back a sane terminal', async (t) => {
  open('a', `${process.execPath} bin/run.js console t1`);
  await shows('a', /\[ {4}0\.\d{6}\] Booting t1 \(domain \d+, PV/);
  await shows('a', 'root@t1:~#');
  tmux('send-keys', '-t', 'con:a.0', 'uname', 'Enter');
  await shows('a', /root@t1:~# uname\nxenemu\nroot@t1:~#$/m);
  tmux('send-keys', '-t', 'con:a.0', 'uname -nx', 'BSpace', 'Enter');
  await shows('a', /root@t1:~# uname -n\nt1\nroot@t1:~#$/m);
  tmux('send-keys', '-t', 'con:a.0', 'C-]');
  const screen = await shows('a', SANE);
  t.regex(screen, SANE);
});

tmuxTest('create -c attaches on boot; the console ends with status 0 when the domain is destroyed', async (t) => {
  const config = scratchFile('t2.yaml', 'name: t2\ntype: pv\nmemory: 64\n');
  open('b', `${process.execPath} bin/run.js create -c ${config}`);
  await shows('b', `Parsing config from ${config}`);
  await shows('b', /Booting t2 \(domain \d+, PV/);
  await shows('b', 'root@t2:~#');
  tmux('send-keys', '-t', 'con:b.0', 'uptime', 'Enter');
  await shows('b', /^ \d\d:\d\d:\d\d up \d+ min, {2}1 user, {2}load average: 0\.00, 0\.00, 0\.00$/m);
  t.is((await h!.xl('destroy', 't2')).code, 0);
  t.regex(await shows('b', SANE), SANE);
});

tmuxTest('SIGTERM ends a console (the xl shim\'s) with status 0 and the terminal restored', async (t) => {
  open('c', `${process.execPath} bin/xl.js console t3`);
  await shows('c', 'root@t3:~#');
  process.kill(commandPid('c'), 'SIGTERM');
  t.regex(await shows('c', SANE), SANE);
});

tmuxTest('xl create -c (the shim) attaches on boot and Ctrl-] detaches; SIGHUP ends a console with 129, the terminal restored', async (t) => {
  const config = scratchFile('t4.yaml', 'name: t4\ntype: pv\nmemory: 64\n');
  open('d', `${process.execPath} bin/xl.js create -c ${config}`);
  await shows('d', /Booting t4 \(domain \d+, PV/);
  await shows('d', 'root@t4:~#');
  tmux('send-keys', '-t', 'con:d.0', 'C-]');
  t.regex(await shows('d', SANE), SANE);

  open('e', `${process.execPath} bin/run.js console t4`);
  // Attached: the output kept for a client went to the first; a command shows this one is live.
  tmux('send-keys', '-t', 'con:e.0', 'Enter');
  await shows('e', 'root@t4:~#');
  process.kill(commandPid('e'), 'SIGHUP');
  t.regex(await shows('e', /EXIT 129\n.*\bicanon echo\b/), /EXIT 129/);
});
