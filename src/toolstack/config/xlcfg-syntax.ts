/**
 * The xl.cfg file grammar, as libxlu implements it (tools/libs/util/libxlu_cfg_l.l,
 * libxlu_cfg_y.y and libxlu_cfg.c of Xen 4.17):
 *
 *   file       := (assignment? (NEWLINE | ';'))* assignment?
 *   assignment := IDENT ('=' | '+=') value
 *   value      := STRING | NUMBER | '[' NEWLINE* (value NEWLINE* (',' NEWLINE* value NEWLINE*)* (',' NEWLINE*)?)? ']'
 *
 *   IDENT   [a-z][._0-9a-z]*     (lower case only; dots are allowed)
 *   NUMBER  [0-9][0-9a-fx]*      (kept as text: xl converts with strtol base 0 when a key wants a number)
 *   STRING  '...' or "..." on one line, with the escapes \' \" \\ \a \b \f \n \r \t \v
 *   NEWLINE a newline, or a # comment up to and including its newline
 *
 * Lists may nest and hold both kinds of atom; newlines may appear anywhere inside
 * one. A later setting of a key replaces an earlier one, and `+=` appends to it
 * (string to string, list to list), which is how `xl create vm.cfg KEY=VALUE`
 * overrides work: xl appends the arguments to the file's text.
 *
 * Departures, each to give a clearer answer than xl and never to accept a config
 * xl would read differently: numeric escapes (\x41, \101) are refused (libxlu 4.17
 * drops or rejects them through a bug in xlu__cfgl_dequote), and a comment on the
 * last line needs no newline (flex's `\#.*\n` rule makes that a lexical error in xl).
 */

import { ConfigError, type ConfigIssue } from './errors.js';
import type { SourceSpot } from './spots.js';

/** Where a value came from: file, 1-based line and column of its first character. */
export type XlSpot = SourceSpot;

export interface XlString extends XlSpot {
  kind: 'string';
  value: string;
  /** A NUMBER token rather than a quoted string. */
  number: boolean;
}

export interface XlList extends XlSpot {
  kind: 'list';
  items: XlValue[];
}

export type XlValue = XlString | XlList;

export interface XlSetting {
  name: string;
  op: '=' | '+=';
  value: XlValue;
  /** Where the key is. */
  spot: XlSpot;
}

type TokenKind = 'ident' | 'number' | 'string' | 'newline' | ',' | '[' | ']' | '=' | '+=' | ';' | 'eof';

interface Token {
  kind: TokenKind;
  text: string;
  /** Dequoted value of a string token. */
  value: string;
  line: number;
  column: number;
  offset: number;
  contentColumn?: number;
}

const ESCAPES: Record<string, string> = { '"': '"', "'": "'", '\\': '\\', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

class Lexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  /** Where the last NUMBER token ended, to explain `512M`. */
  private numberEnd = -1;

  constructor(
    private readonly text: string,
    private readonly file: string,
    firstLine: number,
  ) {
    this.line = firstLine;
  }

  private fail(offset: number, key: string, message: string): never {
    throw ConfigError.at({ file: this.file, line: this.line, column: offset - this.lineStart + 1 }, key, message);
  }

  /** The run of non-blank characters at `offset`, as xl quotes it in "near `...'". */
  private near(offset: number): string {
    return /^[^ \t\n]*/.exec(this.text.slice(offset))![0].slice(0, 40);
  }

  next(key: string): Token {
    const t = this.text;
    for (;;) {
      const c = t[this.pos];
      if (c === ' ' || c === '\t') this.pos++;
      else break;
    }
    const start = this.pos;
    const tok = (kind: TokenKind, end: number, value = ''): Token => {
      const token: Token = { kind, text: t.slice(start, end), value, line: this.line, column: start - this.lineStart + 1, offset: start };
      this.pos = end;
      return token;
    };
    if (start >= t.length) return tok('eof', start);
    const c = t[start]!;
    if (start === this.numberEnd && /[A-Za-z_.]/.test(c)) {
      this.fail(start, key, `lexical error near \`${this.near(start)}': a number cannot have a unit or letters after it (memory and maxmem are in MiB)`);
    }
    if (c === '\n' || c === '#') {
      let end = c === '#' ? t.indexOf('\n', start) : start;
      if (end < 0) end = t.length - 1; // a final comment without a newline
      const token = tok('newline', end + 1);
      this.line++;
      this.lineStart = end + 1;
      return token;
    }
    if (c === '\r') {
      this.fail(start, key, 'carriage return in the file: xl.cfg files use Unix line endings (LF); convert it, e.g. with dos2unix');
    }
    const ident = /[a-z][._0-9a-z]*/y;
    ident.lastIndex = start;
    const im = ident.exec(t);
    if (im) return tok('ident', start + im[0].length, im[0]);
    const num = /[0-9][0-9a-fx]*/y;
    num.lastIndex = start;
    const nm = num.exec(t);
    if (nm) {
      this.numberEnd = start + nm[0].length;
      return tok('number', this.numberEnd, nm[0]);
    }
    if (c === ',' || c === '[' || c === ']' || c === ';' || c === '=') return tok(c, start + 1);
    if (c === '+' && t[start + 1] === '=') return tok('+=', start + 2);
    if (c === '"' || c === "'") return this.quoted(start, c, key);
    // Anything else is what libxlu calls a lexical error.
    const word = this.near(start);
    if (/^[A-Za-z_][A-Za-z0-9._]*/.test(word)) {
      const w = /^[A-Za-z_][A-Za-z0-9._]*/.exec(word)![0];
      const lower = w.toLowerCase();
      // Python's True/False (xm configs), as a value.
      if (key !== undefined && /^(true|false|yes|no|on|off)$/.test(lower)) {
        this.fail(start, key, `lexical error near \`${word}': xl.cfg has no true/false; a boolean is a number, 1 or 0`);
      }
      const hint = /^[a-z][._0-9a-z]*$/.test(lower) ? ` (did you mean "${lower}"?)` : '';
      this.fail(start, key, `lexical error near \`${word}': keys are lower case letters, digits, "_" and "."${hint}`);
    }
    if (c === ':' && /^[ \t]*[a-z][._0-9a-z]*[ \t]*$/.test(t.slice(this.lineStart, start))) {
      this.fail(start, key, 'lexical error near `:\': "key: value" is YAML; an xl.cfg says key = value (name a YAML file .yaml)');
    }
    if ('+-.():'.includes(c)) {
      this.fail(
        start,
        key,
        `lexical error near \`${word}': this looks like Python, which xl.cfg is not since xl replaced xm: write KEY = "string", KEY = number or KEY = [ list ]`,
      );
    }
    this.fail(start, key, `lexical error near \`${word}': expected a key, "string", number, [ list ], "=", "," or ";"`);
  }

  private quoted(start: number, quote: string, key: string): Token {
    const t = this.text;
    let i = start + 1;
    let value = '';
    let plain = true;
    for (;;) {
      const ch = t[i];
      if (ch === undefined || ch === '\n') {
        this.fail(start, key, `unterminated string: close it with ${quote} on the same line (strings cannot span lines; write \\n for a newline)`);
      }
      if (ch === quote) break;
      if (ch === '\\') {
        const e = t[i + 1];
        if (e === undefined || e === '\n') {
          this.fail(start, key, `unterminated string: close it with ${quote} on the same line (a backslash cannot continue a line)`);
        }
        const mapped = ESCAPES[e];
        if (mapped === undefined) {
          const what = e === 'x' || (e >= '0' && e <= '7') ? 'numeric escapes are not supported (xl 4.17 misreads them); write the character itself' : `use one of \\" \\' \\\\ \\a \\b \\f \\n \\r \\t \\v`;
          this.fail(i, key, `invalid escape \\${e} in quoted string: ${what}`);
        }
        value += mapped;
        plain = false;
        i += 2;
        continue;
      }
      value += ch;
      i++;
    }
    const token: Token = {
      kind: 'string',
      text: t.slice(start, i + 1),
      value,
      line: this.line,
      column: start - this.lineStart + 1,
      offset: start,
    };
    if (plain) token.contentColumn = token.column + 1;
    this.pos = i + 1;
    return token;
  }
}

const describe = (tok: Token): string => {
  switch (tok.kind) {
    case 'eof':
      return 'the end of the file';
    case 'newline':
      return tok.text.startsWith('#') ? 'a comment' : 'the end of the line';
    case 'string':
      return `the string ${tok.text}`;
    case 'number':
      return `the number ${tok.text}`;
    case 'ident':
      return `\`${tok.text}'`;
    default:
      return `\`${tok.text}'`;
  }
};

class Parser {
  private tok: Token;
  private key = '';

  constructor(
    private readonly lexer: Lexer,
    private readonly file: string,
  ) {
    this.tok = lexer.next('');
  }

  private advance(): Token {
    const t = this.tok;
    this.tok = this.lexer.next(this.key);
    return t;
  }

  private fail(tok: Token, message: string): never {
    throw ConfigError.at({ file: this.file, line: tok.line, column: tok.column }, this.key, message);
  }

  private spot(tok: Token): XlSpot {
    const s: XlSpot = { file: this.file, line: tok.line, column: tok.column };
    if (tok.contentColumn !== undefined) s.contentColumn = tok.contentColumn;
    return s;
  }

  parseFile(): XlSetting[] {
    const out: XlSetting[] = [];
    for (;;) {
      this.key = '';
      const t = this.tok;
      if (t.kind === 'eof') return out;
      if (t.kind === 'newline' || t.kind === ';') {
        this.advance();
        continue;
      }
      if (t.kind !== 'ident') {
        this.fail(t, `syntax error near ${describe(t)}: expected a setting, KEY = VALUE`);
      }
      out.push(this.assignment());
      const end = this.tok;
      if (end.kind === 'newline' || end.kind === ';') this.advance();
      else if (end.kind !== 'eof') {
        this.fail(end, `syntax error near ${describe(end)}: expected the end of the line or ";" after the value of ${this.key}`);
      }
    }
  }

  private assignment(): XlSetting {
    const name = this.advance();
    this.key = name.value;
    const op = this.tok;
    if (op.kind !== '=' && op.kind !== '+=') {
      this.fail(op, `syntax error near ${describe(op)}: expected "=" after ${name.value}`);
    }
    this.advance();
    const value = this.value();
    return { name: name.value, op: op.kind, value, spot: this.spot(name) };
  }

  private skipNewlines(): void {
    while (this.tok.kind === 'newline') this.advance();
  }

  private value(): XlValue {
    const t = this.tok;
    if (t.kind === 'string' || t.kind === 'number') {
      this.advance();
      return { kind: 'string', value: t.value, number: t.kind === 'number', ...this.spot(t) };
    }
    if (t.kind === '[') return this.list();
    if (t.kind === 'ident') {
      if (/^(true|false|yes|no|on|off)$/.test(t.text)) {
        this.fail(t, `syntax error near ${describe(t)}: xl.cfg has no true/false; a boolean is a number, 1 or 0`);
      }
      this.fail(t, `syntax error near ${describe(t)}: strings must be quoted, e.g. ${this.key} = "${t.text}"`);
    }
    this.fail(t, `syntax error near ${describe(t)}: expected a value: a "string", a number or a [ list ]`);
  }

  private list(): XlList {
    const open = this.advance();
    const items: XlValue[] = [];
    this.skipNewlines();
    for (;;) {
      const t = this.tok;
      if (t.kind === ']') break;
      if (t.kind === 'eof') this.fail(open, `the list opened here is not closed: add "]"`);
      if (t.kind === ',' && items.length === 0) this.fail(t, 'syntax error near `,\': a list cannot start with ","');
      if (t.kind === ',') this.fail(t, 'syntax error near `,\': two commas in a row; remove one');
      items.push(this.value());
      this.skipNewlines();
      const sep = this.tok;
      if (sep.kind === ',') {
        this.advance();
        this.skipNewlines();
        continue;
      }
      if (sep.kind === ']') break;
      if (sep.kind === 'eof') this.fail(open, `the list opened here is not closed: add "]"`);
      this.fail(sep, `syntax error near ${describe(sep)}: expected "," or "]" in the list opened at line ${open.line}, column ${open.column}`);
    }
    this.advance();
    return { kind: 'list', items, ...this.spot(open) };
  }
}

/** Parse an xl.cfg text into its settings, in order. Throws ConfigError at the first error. */
export function parseXlCfgSettings(text: string, file: string, firstLine = 1): XlSetting[] {
  return new Parser(new Lexer(text, file, firstLine), file).parseFile();
}

export interface ResolvedSetting {
  name: string;
  value: XlValue;
  /** The operator of the last setting, which decides (xl refuses numbers set with +=). */
  op: '=' | '+=';
  spot: XlSpot;
}

/**
 * The effective value of each key: the last setting wins, `+=` appends to the value
 * so far (xlu__cfg_set_store and xlu__cfg_concat_vals). Keys keep the order of
 * their first appearance; the spot is the last setting's.
 */
export function resolveSettings(settings: readonly XlSetting[]): Map<string, ResolvedSetting> {
  const out = new Map<string, ResolvedSetting>();
  for (const s of settings) {
    const prev = out.get(s.name);
    let value = s.value;
    if (s.op === '+=' && prev) {
      if (prev.value.kind !== value.kind) {
        const issue: ConfigIssue = {
          file: s.spot.file,
          line: s.value.line,
          column: s.value.column,
          key: s.name,
          message: `can't add a ${value.kind === 'list' ? '[list]' : '"string"'} to a ${prev.value.kind === 'list' ? '[list]' : '"string"'}: += appends a string to a string or a list to a list`,
        };
        throw new ConfigError([issue]);
      }
      if (value.kind === 'list' && prev.value.kind === 'list') {
        value = { ...value, items: [...prev.value.items, ...value.items] };
      } else if (value.kind === 'string' && prev.value.kind === 'string') {
        const { contentColumn: _drop, ...spot } = prev.value;
        value = { ...spot, kind: 'string', number: false, value: prev.value.value + value.value };
      }
    }
    out.set(s.name, { name: s.name, value, op: s.op, spot: s.spot });
  }
  return out;
}

/** A string as an xl.cfg double-quoted atom, escaping what the lexer needs escaped. */
export function quoteXlString(s: string): string {
  let out = '"';
  for (const ch of s) {
    switch (ch) {
      case '"':
        out += '\\"';
        break;
      case '\\':
        out += '\\\\';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      case '\x07':
        out += '\\a';
        break;
      case '\b':
        out += '\\b';
        break;
      case '\f':
        out += '\\f';
        break;
      case '\v':
        out += '\\v';
        break;
      default:
        out += ch;
    }
  }
  return `${out}"`;
}
