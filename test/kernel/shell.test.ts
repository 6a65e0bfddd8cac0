import test from 'ava';
import { Shell, type ShellCommand } from '../../src/kernel/console/shell.js';
import { registerBuiltins, uptimeLine, type ShellHost } from '../../src/kernel/console/shell-commands.js';

const HOST: ShellHost = {
  nodename: () => 'web',
  type: 'pv',
  xenVersion: () => ({ major: 4, minor: 17 }),
  uptimeNs: () => 3_723e9,
  now: () => new Date(2026, 0, 2, 9, 5, 7),
  logLines: () => ['[    0.000000] Booting web', '[    0.000100] xen: found'],
  clearLog: () => {},
};

function shell(host: ShellHost = HOST): { sh: Shell; out: () => string; type: (s: string) => void } {
  let text = '';
  const sh = new Shell(
    (t) => (text += t),
    () => '# ',
  );
  registerBuiltins(sh, host);
  sh.start();
  return {
    sh,
    out: () => {
      const t = text;
      text = '';
      return t;
    },
    type: (s) => sh.input(Buffer.from(s, 'utf8')),
  };
}

test('the first prompt comes on start; input before it is ignored', (t) => {
  let text = '';
  const sh = new Shell(
    (s) => (text += s),
    () => '# ',
  );
  sh.input(Buffer.from('uname\r'));
  t.is(text, '');
  sh.start();
  t.is(text, '\r\n# ');
});

test('typed characters are echoed and Enter runs the command', (t) => {
  const s = shell();
  s.out();
  s.type('uname\r');
  t.is(s.out(), 'uname\r\nxenemu\r\n# ');
});

test('uname -a prints every known field in coreutils order', (t) => {
  const s = shell();
  s.out();
  s.type('uname -a\r');
  t.is(s.out(), 'uname -a\r\nxenemu web 1.0.0-xen4.17 #1 SMP PV x86_64 xenemu\r\n# ');
  s.type('uname -nrp\r');
  t.true(s.out().includes('\r\nweb 1.0.0-xen4.17 unknown\r\n'));
  s.type('uname -x\r');
  t.true(s.out().includes("uname: invalid option -- 'x'\r\nTry 'uname --help' for more information.\r\n"));
  t.is(s.sh.status, 1);
});

test('backspace erases the last character, whole UTF-8 sequences included', (t) => {
  const s = shell();
  s.out();
  s.type('unamx\x7f');
  t.is(s.out(), 'unamx\b \b');
  s.type('e\r');
  t.true(s.out().endsWith('\r\nxenemu\r\n# '));
  s.type('é\x08uname\r');
  t.is(s.out(), 'é\b \buname\r\nxenemu\r\n# ');
});

test('Ctrl-U kills the line, Ctrl-C drops it and prompts again', (t) => {
  const s = shell();
  s.out();
  s.type('abc\x15');
  t.is(s.out(), 'abc\b \b\b \b\b \b');
  s.type('dmes\x03');
  t.is(s.out(), 'dmes^C\r\n# ');
  s.type('\r');
  t.is(s.out(), '\r\n# ');
});

test('arrow keys and CR LF pairs do not reach the line', (t) => {
  const s = shell();
  s.out();
  s.type('\x1b[Auname\r\n');
  t.is(s.out(), 'uname\r\nxenemu\r\n# ');
});

test('an unknown command says so, status 127', (t) => {
  const s = shell();
  s.out();
  s.type('ifconfig\r');
  t.is(s.out(), 'ifconfig\r\nsh: ifconfig: command not found\r\n# ');
  t.is(s.sh.status, 127);
});

test('uptime prints procps\' line; dmesg prints the kernel log', (t) => {
  t.is(uptimeLine(HOST), ' 09:05:07 up  1:02,  1 user,  load average: 0.00, 0.00, 0.00');
  t.is(uptimeLine({ ...HOST, uptimeNs: () => 90_061e9 }), ' 09:05:07 up 1 day,  1:01,  1 user,  load average: 0.00, 0.00, 0.00');
  t.is(uptimeLine({ ...HOST, uptimeNs: () => 300e9 }), ' 09:05:07 up 5 min,  1 user,  load average: 0.00, 0.00, 0.00');
  let cleared = false;
  const s = shell({ ...HOST, clearLog: () => (cleared = true) });
  s.out();
  s.type('dmesg -c\r');
  t.is(s.out(), 'dmesg -c\r\n[    0.000000] Booting web\r\n[    0.000100] xen: found\r\n# ');
  t.true(cleared);
});

test('registered commands run, show in help, and may not be registered twice', (t) => {
  const s = shell();
  const ifconfig: ShellCommand = { name: 'ifconfig', summary: 'show the network interfaces', run: (argv, io) => io.println(`eth0 ${argv.slice(1).join(',')}`) };
  s.sh.register(ifconfig);
  t.throws(() => s.sh.register(ifconfig), { message: /already registered/ });
  t.throws(() => s.sh.register({ ...ifconfig, name: 'two words' }), { message: /one word/ });
  s.out();
  s.type('ifconfig a  b\r');
  t.is(s.out(), 'ifconfig a  b\r\neth0 a,b\r\n# ');
  s.type('help\r');
  const help = s.out();
  t.regex(help, /\r\nifconfig {2}show the network interfaces\r\n/);
  t.regex(help, /\r\nuname {5}print system information/);
  t.true(s.sh.unregister('ifconfig'));
});

test('an async command holds the prompt; Ctrl-C aborts it and type-ahead waits for the prompt', async (t) => {
  const s = shell();
  let signal: AbortSignal | undefined;
  let finish: () => void = () => {};
  s.sh.register({
    name: 'ping',
    summary: 'wait',
    run: (_argv, io) =>
      new Promise<number>((resolve) => {
        signal = io.signal;
        finish = () => resolve(0);
      }),
  });
  s.out();
  s.type('ping\r');
  t.is(s.out(), 'ping\r\n');
  s.type('\x03');
  t.true(signal?.aborted);
  t.is(s.out(), '^C\r\n# ');
  t.is(s.sh.status, 130);
  s.type('ping\runame\r');
  t.is(s.out(), 'ping\r\n');
  finish();
  await Promise.resolve();
  await Promise.resolve();
  t.is(s.out(), '# uname\r\nxenemu\r\n# ');
});

test('a command that handles Ctrl-C is told, keeps writing, and the prompt comes back when it ends', async (t) => {
  const s = shell();
  s.sh.register({
    name: 'count',
    summary: 'until interrupted',
    handlesInterrupt: true,
    run: (_argv, io) =>
      new Promise<number>((resolve) => {
        io.signal.addEventListener('abort', () => {
          io.println();
          io.println('3 counted');
          resolve(1);
        });
      }),
  });
  s.out();
  s.type('count\r');
  t.is(s.out(), 'count\r\n');
  s.type('uname\r\x03');
  await Promise.resolve();
  await Promise.resolve();
  t.is(s.out(), '^C\r\n3 counted\r\n# ', 'its last words, then the prompt; the type-ahead went with ^C');
  t.is(s.sh.status, 1, 'its own status, not 130');
});

test('a command that throws prints its error and the prompt comes back', (t) => {
  const s = shell();
  s.sh.register({
    name: 'boom',
    summary: 'fails',
    run: () => {
      throw new Error('no such device');
    },
  });
  s.out();
  s.type('boom\r');
  t.is(s.out(), 'boom\r\nboom: no such device\r\n# ');
  t.is(s.sh.status, 1);
});
