import type { XenemuError } from '../common/errors.js';

/**
 * How the CLI reports a XenemuError on stderr, through oclif or the fast path alike:
 * its message, in red on a terminal that shows colour (chalk loads only now).
 */
export async function reportXenemuError(err: XenemuError): Promise<void> {
  const { chalkFor } = await import('../ui/color.js');
  process.stderr.write(`${chalkFor('stderr').red(err.cliMessage())}\n`);
}
