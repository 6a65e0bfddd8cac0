/**
 * Reading a YAML domain config with the `yaml` package's document API, which keeps
 * the source range of every node: the loader records where each key and value is
 * (a SpotMap) so that later errors, however deep, name their line and column.
 */

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Node } from 'yaml';
import { ConfigError, formatPath, type ConfigIssue, type ConfigPath } from './errors.js';
import { SpotMap, type SourceSpot } from './spots.js';

export interface LoadedYaml {
  raw: Record<string, unknown>;
  spots: SpotMap;
  warnings: ConfigIssue[];
}

/** First line of a yaml error message, without the position it appends. */
function bareMessage(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/** Read a YAML config text into the schema's input object. Throws ConfigError. */
export function loadYamlText(text: string, file: string): LoadedYaml {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, strict: true, keepSourceTokens: false });
  const spotAt = (offset: number): SourceSpot => {
    const p = lc.linePos(offset);
    return { file, line: p.line, column: p.col };
  };
  const at = (offset: number, key: string, message: string): ConfigIssue => ({ ...spotAt(offset), key, message });

  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) =>
        e.code === 'MULTIPLE_DOCS'
          ? at(e.pos[0], '', 'the file holds more than one YAML document ("---"): a domain config is one document')
          : at(e.pos[0], '', `YAML syntax error: ${bareMessage(e.message)}`),
      ),
    );
  }
  const warnings = doc.warnings.map((w) => at(w.pos[0], '', `YAML: ${bareMessage(w.message)}`));

  const contents = doc.contents;
  if (contents === null || (isScalar(contents) && contents.value === null)) {
    throw ConfigError.at({ file, line: 1, column: 1 }, '', 'the file holds no settings: a domain config needs at least a name, e.g. name: web');
  }
  if (!isMap(contents)) {
    throw new ConfigError([at(contents.range?.[0] ?? 0, '', 'the file must be a mapping of keys to values (name: web, memory: 512, ...), not a list or a single value')]);
  }

  const spots = new SpotMap();
  const issues: ConfigIssue[] = [];
  const record = (node: Node | null | undefined, path: ConfigPath, fallback: number): void => {
    const offset = node?.range?.[0] ?? fallback;
    const spot = spotAt(offset);
    if (node && isScalar(node) && typeof node.value === 'string' && node.range) {
      const [start, end] = node.range;
      const source = text.slice(start, end);
      if (node.type === Scalar.PLAIN && source === node.value) spot.contentColumn = spot.column;
      if ((node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE) && source.slice(1, -1) === node.value) {
        spot.contentColumn = spot.column + 1;
      }
    }
    spots.set(path, spot);
    if (node && isAlias(node)) {
      if (!node.resolve(doc)) issues.push(at(offset, formatPath(path), `unknown alias *${node.source}: define the anchor &${node.source} before using it`));
      return;
    }
    if (!node) return;
    if (isMap(node)) {
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        const keyOffset = keyNode?.range?.[0] ?? offset;
        if (!isScalar(keyNode) || typeof keyNode.value !== 'string') {
          const shown = isScalar(keyNode) ? String(keyNode.value) : 'a collection';
          issues.push(at(keyOffset, formatPath(path), `keys must be plain strings; ${shown} is not one`));
          continue;
        }
        const sub = [...path, keyNode.value];
        spots.setKey(sub, spotAt(keyOffset));
        const value = pair.value as Node | null;
        record(value, sub, value?.range?.[0] ?? keyOffset);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => record(item as Node | null, [...path, i], offset));
    }
  };
  record(contents, [], 0);
  if (issues.length > 0) throw new ConfigError(issues);

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw ConfigError.at({ file, line: 1, column: 1 }, '', `YAML: ${(e as Error).message}`);
  }
  return { raw: raw as Record<string, unknown>, spots, warnings };
}
