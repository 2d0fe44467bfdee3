/**
 * A reader for the YAML our deployment files use (no `yaml` package is installed): `---` documents,
 * block mappings and sequences by indentation, plain / single / double-quoted scalars, flow sequences
 * of scalars (`["a", ""]`), `{}`/`[]`, comments, and `&anchor` / `<<: *anchor` merges of mappings.
 * Anything else (block scalars `|`/`>`, flow mappings with content, tags) throws, so a manifest that
 * leaves the subset fails its test rather than being half read. Scalars stay strings, except that
 * nothing is coerced: `port: 80` is "80" (the tests compare as Kubernetes would after its own parsing).
 */
export type YamlValue = string | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  indent: number;
  text: string;
  no: number;
}

export function parseYamlDocuments(source: string): YamlValue[] {
  const docs: Line[][] = [[]];
  source.split('\n').forEach((raw, i) => {
    if (/^---\s*$/.test(raw)) return void docs.push([]);
    const text = stripComment(raw).replace(/\s+$/, '');
    if (text.trim() === '') return;
    if (/\t/.test(raw.slice(0, raw.length - raw.trimStart().length))) throw new Error(`line ${i + 1}: tab indentation`);
    docs[docs.length - 1]!.push({ indent: raw.length - raw.trimStart().length, text: text.trim(), no: i + 1 });
  });
  return docs.filter((d) => d.length > 0).map((lines) => {
    const anchors = new Map<string, YamlValue>();
    const r = new Reader(lines, anchors);
    const v = r.block(lines[0]!.indent);
    if (r.pos < lines.length) throw new Error(`line ${lines[r.pos]!.no}: unexpected indentation`);
    return v;
  });
}

function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}

class Reader {
  pos = 0;
  constructor(
    private readonly lines: Line[],
    private readonly anchors: Map<string, YamlValue>,
  ) {}

  block(indent: number): YamlValue {
    const first = this.lines[this.pos]!;
    if (first.indent !== indent) throw new Error(`line ${first.no}: expected indentation ${indent}`);
    return first.text.startsWith('- ') || first.text === '-' ? this.sequence(indent) : this.mapping(indent);
  }

  private sequence(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    while (this.pos < this.lines.length && this.lines[this.pos]!.indent === indent && /^-( |$)/.test(this.lines[this.pos]!.text)) {
      const line = this.lines[this.pos]!;
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        this.pos++;
        out.push(this.nested(indent, line));
      } else if (/^[^"'[{][^:]*:( |$)/.test(rest) || /^["'][^"']*["']:( |$)/.test(rest)) {
        // "- key: value": a mapping whose keys sit at the item's text column.
        const col = indent + (line.text.length - rest.length);
        this.lines[this.pos] = { indent: col, text: rest, no: line.no };
        out.push(this.mapping(col));
      } else {
        this.pos++;
        out.push(scalarOrFlow(rest, line.no));
      }
    }
    return out;
  }

  private mapping(indent: number): { [key: string]: YamlValue } {
    const out: { [key: string]: YamlValue } = {};
    const merged = new Set<string>(); // keys from a << merge, which explicit keys override
    while (this.pos < this.lines.length && this.lines[this.pos]!.indent === indent) {
      const line = this.lines[this.pos]!;
      const m = /^("[^"]*"|'[^']*'|[^"'\s][^:]*?):(?: +(.*))?$/.exec(line.text);
      if (!m) throw new Error(`line ${line.no}: not a "key: value" line`);
      const key = unquote(m[1]!);
      let rest = m[2] ?? '';
      this.pos++;
      let anchor: string | null = null;
      const a = /^&([\w-]+)\s*(.*)$/.exec(rest);
      if (a) {
        anchor = a[1]!;
        rest = a[2]!;
      }
      let value: YamlValue;
      if (rest === '') value = this.nested(indent, line);
      else if (rest.startsWith('*')) {
        const ref = this.anchors.get(rest.slice(1));
        if (ref === undefined) throw new Error(`line ${line.no}: unknown alias ${rest}`);
        value = ref;
      } else value = scalarOrFlow(rest, line.no);
      if (anchor) this.anchors.set(anchor, value);
      if (key === '<<') {
        if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`line ${line.no}: << merges a mapping`);
        for (const [k, v] of Object.entries(value)) {
          if (Object.hasOwn(out, k)) continue;
          out[k] = v;
          merged.add(k);
        }
        continue;
      }
      if (Object.hasOwn(out, key) && !merged.delete(key)) throw new Error(`line ${line.no}: duplicate key ${key}`);
      out[key] = value;
    }
    return out;
  }

  /** The value of "key:" / "-" on its own: the deeper lines after it (or null as ""). */
  private nested(indent: number, line: Line): YamlValue {
    const next = this.lines[this.pos];
    if (!next || next.indent < indent || (next.indent === indent && !/^-( |$)/.test(next.text))) return '';
    if (next.indent === indent) return this.sequence(indent); // "key:\n- item" at the same indentation
    if (next.indent <= indent) throw new Error(`line ${line.no}: nothing nested`);
    return this.block(next.indent);
  }
}

function unquote(s: string): string {
  if (s.startsWith('"')) return JSON.parse(s) as string;
  if (s.startsWith("'")) return s.slice(1, -1).replace(/''/g, "'");
  return s;
}

function scalarOrFlow(s: string, no: number): YamlValue {
  if (s === '[]') return [];
  if (s === '{}') return {};
  if (s.startsWith('[')) {
    if (!s.endsWith(']')) throw new Error(`line ${no}: unterminated flow sequence`);
    const items = s.slice(1, -1).match(/"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^,]+/g) ?? [];
    return items.map((x) => x.trim()).filter((x) => x !== '').map((x) => scalar(x, no));
  }
  return scalar(s, no);
}

function scalar(s: string, no: number): string {
  if (/^[|>{!&*]/.test(s)) throw new Error(`line ${no}: outside the supported YAML subset: ${s.slice(0, 20)}`);
  if (s.startsWith('"') || s.startsWith("'")) {
    if (s.length < 2 || s[s.length - 1] !== s[0]) throw new Error(`line ${no}: unterminated string`);
    return unquote(s);
  }
  return s;
}
