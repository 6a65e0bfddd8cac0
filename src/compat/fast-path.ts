import { runControl } from './control-tool.js';
import { isCMode, parseToolArgs, toByteString, toolName, toolRequest } from './xenstore-args.js';
import { exitQuietlyOnEpipe, runTool, type RunContext } from './xenstore-run.js';

/**
 * `xenemu xenstore <tool> ...` without oclif. Scripts call these once per key, so
 * start-up time is the cost that matters: this module and what it imports load only
 * node:net, the wire codec, the xenstore client and the tool code (no oclif, no
 * SQLite; the daemon starter is imported only when no daemon answers).
 *
 * Arguments are parsed with the C tools' getopt rules. Anything that would make the C
 * tool complain (a bad option, a usage error), help, --json, and unknown tools return
 * false: oclif then parses the same command line and reports it its way (usage
 * errors exit 1 there, as the C tools' do). Set XENEMU_FAST_PATH=0 to always go
 * through oclif.
 *
 * Output is the C tools' output byte for byte, and so are stderr messages, under the
 * name of the tool mirrored (`xenstore-read: couldn't read path /x`).
 */
export async function fastXenstore(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (argv[0] !== 'xenstore' || argv.length < 2 || env.XENEMU_FAST_PATH === '0') return false;
  const mode = argv[1]!;
  const args = argv.slice(2).map(toByteString);
  const ctx: RunContext = { progname: toolName(mode), compatErrors: false, env };

  if (mode === 'control' || mode === 'mkdir') {
    // Neither has options of its own (xenstore-control passes `live-update -F` through
    // to the daemon); help and --json are oclif's, and so is anything dash-led for mkdir.
    const end = args.indexOf('--');
    const before = end < 0 ? args : args.slice(0, end);
    const operands = end < 0 ? args : [...before, ...args.slice(end + 1)];
    const oclifs = mode === 'control' ? (a: string) => a === '-h' || a === '--help' || a === '--json' : (a: string) => a.startsWith('-') && a !== '-';
    if (before.some(oclifs) || operands.length === 0) return false;
    exitQuietlyOnEpipe();
    if (mode === 'control') process.exitCode = await runControl('xenemu xenstore control', operands, ctx);
    else process.exitCode = await runTool(toolRequest('mkdir', {}, operands)!, ctx);
    return true;
  }
  if (!isCMode(mode)) return false;
  const parsed = parseToolArgs(mode, [mode, ...args], env);
  if (parsed.diagnostics.length > 0 || parsed.request === null) return false;
  exitQuietlyOnEpipe();
  process.exitCode = await runTool(parsed.request, ctx);
  return true;
}
