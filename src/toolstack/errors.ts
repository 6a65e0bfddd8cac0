/**
 * A toolstack operation that cannot be done: the domain does not exist, the name is
 * taken, the host lacks memory... `code` is the errno name xl would report; the CLI
 * prints the message and exits 1, as xl does for these.
 */

import { XenemuError } from '../common/errors.js';
export class ToolstackError extends XenemuError {}
