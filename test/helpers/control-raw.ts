import { connect } from 'node:net';

/** What the daemon did with one raw request line. */
export type RawAnswer =
  | { kind: 'answer'; line: string; msg: { id?: unknown; result?: unknown; error?: { code: string; message: string } } }
  | { kind: 'closed' }
  | { kind: 'timeout' };

/**
 * Send `line` (any bytes, a newline added unless `raw`) to the control socket as a
 * client that skips the CLI would, and read the first line back. A request that gets
 * no answer within `timeoutMs` is a hang: the caller fails on it.
 */
export function sendRaw(control: string, line: string, options: { timeoutMs?: number; raw?: boolean } = {}): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect(control);
    let buf = '';
    let settled = false;
    const settle = (a: RawAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(a);
    };
    const timer = setTimeout(() => settle({ kind: 'timeout' }), options.timeoutMs ?? 15_000);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        const first = buf.slice(0, nl);
        settle({ kind: 'answer', line: first, msg: JSON.parse(first) as Extract<RawAnswer, { kind: 'answer' }>['msg'] });
      }
    });
    socket.on('error', () => settle({ kind: 'closed' }));
    socket.on('close', () => settle({ kind: 'closed' }));
    socket.write(options.raw ? line : `${line}\n`);
  });
}

/** One request, as JSON. */
export function request(method: unknown, params?: unknown, id: unknown = 1): string {
  return JSON.stringify(params === undefined ? { id, method } : { id, method, params });
}
