/**
 * yajl 2.1's generator (src/yajl_gen.c) in the configuration libxl_yajl_gen_alloc()
 * sets up: yajl_gen_beautify with the default four-space indent, no solidus escaping,
 * no UTF-8 validation. The state machine is the C one, so its output quirks come
 * along: an empty map or array prints as "{", an empty line, then the indented
 * "}" — which is exactly what `xl list -l` shows for "sched_params": {} — and the
 * finished document ends with a newline.
 */

type State = 'start' | 'mapStart' | 'mapKey' | 'mapVal' | 'arrayStart' | 'inArray' | 'complete';

const INDENT = '    ';

export class YajlGen {
  private readonly state: State[] = ['start'];
  private out = '';

  /** yajl_gen_get_buf(): everything generated so far. */
  get buffer(): string {
    return this.out;
  }

  private get depth(): number {
    return this.state.length - 1;
  }

  private get top(): State {
    return this.state[this.depth]!;
  }

  private set top(s: State) {
    this.state[this.depth] = s;
  }

  /** ENSURE_VALID_STATE: generating after the top-level value is finished is an error. */
  private ensureValid(): void {
    if (this.top === 'complete') throw new Error('yajl_gen_generation_complete');
  }

  /** ENSURE_NOT_KEY: only strings can be map keys. */
  private ensureNotKey(): void {
    if (this.top === 'mapKey' || this.top === 'mapStart') throw new Error('yajl_gen_keys_must_be_strings');
  }

  /** INSERT_SEP: "," between elements, ": " between a key and its value. */
  private insertSep(): void {
    if (this.top === 'mapKey' || this.top === 'inArray') this.out += ',\n';
    else if (this.top === 'mapVal') this.out += ': ';
  }

  /** INSERT_WHITESPACE: indent, except for a value that follows its key. */
  private insertWhitespace(): void {
    if (this.top !== 'mapVal') this.out += INDENT.repeat(this.depth);
  }

  /** APPENDED_ATOM: advance the enclosing container's state. */
  private appendedAtom(): void {
    switch (this.top) {
      case 'start':
        this.top = 'complete';
        break;
      case 'mapStart':
      case 'mapKey':
        this.top = 'mapVal';
        break;
      case 'arrayStart':
        this.top = 'inArray';
        break;
      case 'mapVal':
        this.top = 'mapKey';
        break;
      default:
        break;
    }
  }

  /** FINAL_NEWLINE. */
  private finalNewline(): void {
    if (this.top === 'complete') this.out += '\n';
  }

  private atom(text: string, mayBeKey: boolean): void {
    this.ensureValid();
    if (!mayBeKey) this.ensureNotKey();
    this.insertSep();
    this.insertWhitespace();
    this.out += text;
    this.appendedAtom();
    this.finalNewline();
  }

  private open(bracket: '{' | '[', state: State): void {
    this.ensureValid();
    this.ensureNotKey();
    this.insertSep();
    this.insertWhitespace();
    this.state.push(state);
    this.out += `${bracket}\n`;
    this.finalNewline();
  }

  private close(bracket: '}' | ']'): void {
    this.ensureValid();
    if (this.depth === 0) throw new Error('yajl_gen_generation_complete');
    this.state.pop();
    this.out += '\n';
    this.appendedAtom();
    this.insertWhitespace();
    this.out += bracket;
    this.finalNewline();
  }

  mapOpen(): void {
    this.open('{', 'mapStart');
  }

  mapClose(): void {
    this.close('}');
  }

  arrayOpen(): void {
    this.open('[', 'arrayStart');
  }

  arrayClose(): void {
    this.close(']');
  }

  /** yajl_gen_integer ("%lld") or yajl_gen_number with an integer's digits. */
  integer(v: bigint | number): void {
    this.atom(BigInt(v).toString(), false);
  }

  bool(v: boolean): void {
    this.atom(v ? 'true' : 'false', false);
  }

  null(): void {
    this.atom('null', false);
  }

  /** yajl_gen_string: a key or a value, escaped by yajl_string_encode. */
  string(s: string): void {
    this.atom(`"${yajlEscape(s)}"`, true);
  }
}

/**
 * yajl_string_encode(): \" \\ \b \f \n \r \t, other bytes below 0x20 as \u00xx
 * (upper-case hex, as CharToHex writes it); "/" and everything from 0x20 up, UTF-8 included, as is.
 */
export function yajlEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    switch (ch) {
      case '\r':
        out += '\\r';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\\':
        out += '\\\\';
        break;
      case '"':
        out += '\\"';
        break;
      case '\f':
        out += '\\f';
        break;
      case '\b':
        out += '\\b';
        break;
      case '\t':
        out += '\\t';
        break;
      default: {
        const code = ch.codePointAt(0)!;
        out += code < 0x20 ? `\\u00${code.toString(16).toUpperCase().padStart(2, '0')}` : ch;
      }
    }
  }
  return out;
}
