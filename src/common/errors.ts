/**
 * The one error base. An error xenemu raises on purpose tells a user what went wrong
 * and where (`message`), and a program what kind of failure it is (`code`: the Xen
 * errno name where one fits, ESRCH, EINVAL, ENOMEM..., else a stable upper-case name
 * such as RINGIDX). Each module's subclass adds what it knows (a file position, the
 * ring's indices). Two places translate, and only these two:
 * - the daemon answers a failed control request with {code, message}
 *   (rpcErrorOf in src/host/control-server.ts);
 * - the CLI prints cliMessage() on stderr and exits with exitStatus
 *   (src/cli/base-command.ts).
 */
export class XenemuError extends Error {
  /** The CLI's exit status: 1, as xl and the xenstore tools exit on a failure. */
  readonly exitStatus: number = 1;

  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /** The line(s) the CLI prints: "xenemu: " and the message, as the C tools name themselves. */
  cliMessage(): string {
    return `xenemu: ${this.message}`;
  }
}
