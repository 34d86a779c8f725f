/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for tests:
 * every line must be a HELP, a TYPE, a comment or a well-formed sample of a family whose
 * HELP and TYPE came first; a histogram's buckets must be cumulative and end in a
 * `le="+Inf"` bucket equal to its `_count`. It throws on the first violation, naming the
 * line. (parse-prometheus-text-format 1.1 drops the labels, sum and count of labelled
 * histograms, so it cannot check ours.)
 */

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function parsePromText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  for (const [i, line] of lines.entries()) {
    const where = `line ${i + 1} ${JSON.stringify(line)}`;
    if (line.trim() === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name = '', rest = ''] = meta;
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
      const f = families.get(name) ?? { name, help: '', type: 'untyped' as const, samples: [] };
      if (f.samples.length) throw new Error(`${where}: ${kind} after the family's samples`);
      if (kind === 'HELP') {
        if (f.help) throw new Error(`${where}: a second HELP`);
        f.help = rest;
      } else {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`${where}: bad type`);
        f.type = rest as PromFamily['type'];
      }
      families.set(name, f);
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = parseSample(line, where);
    const family = familyOf(families, sample.name);
    if (!family) throw new Error(`${where}: a sample with no HELP/TYPE before it`);
    family.samples.push(sample);
  }
  for (const f of families.values()) {
    if (!f.help) throw new Error(`${f.name}: no HELP`);
    if (f.type === 'counter' && !f.name.endsWith('_total')) throw new Error(`${f.name}: a counter's name must end in _total`);
    if (f.type === 'histogram') checkHistogram(f);
  }
  return families;
}

function familyOf(families: Map<string, PromFamily>, sampleName: string): PromFamily | undefined {
  const direct = families.get(sampleName);
  if (direct && direct.type !== 'histogram') return direct;
  const base = /^(.*)_(bucket|sum|count)$/.exec(sampleName)?.[1];
  const f = base === undefined ? undefined : families.get(base);
  return f && (f.type === 'histogram' || f.type === 'summary') ? f : undefined;
}

function parseSample(line: string, where: string): PromSample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)( -?\d+)?$/.exec(line);
  if (!m) throw new Error(`${where}: not a sample line`);
  const [, name = '', rawLabels, rawValue = ''] = m;
  const labels: Record<string, string> = {};
  if (rawLabels) {
    let rest = rawLabels.slice(1, -1);
    while (rest.length) {
      const lm = /^([^=]+)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
      if (!lm) throw new Error(`${where}: bad labels`);
      const [all, key = '', value = ''] = lm;
      if (!LABEL.test(key)) throw new Error(`${where}: bad label name ${key}`);
      if (key in labels) throw new Error(`${where}: label ${key} twice`);
      labels[key] = value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(all.length);
    }
  }
  // As Prometheus reads values (Go's ParseFloat): NaN and Inf in any case.
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(rawValue);
  const value = special ? (special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity) : Number(rawValue);
  if (Number.isNaN(value) && !special) throw new Error(`${where}: bad value`);
  return { name, labels, value };
}

function checkHistogram(f: PromFamily): void {
  const series = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: a bucket without le`);
      entry.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
    } else if (s.name === `${f.name}_count`) entry.count = s.value;
    else if (s.name === `${f.name}_sum`) entry.sum = s.value;
  }
  for (const [key, s] of series) {
    const last = s.buckets.at(-1);
    if (!last || last[0] !== Infinity) throw new Error(`${f.name}${key}: no le="+Inf" bucket last`);
    for (let i = 1; i < s.buckets.length; i++) {
      const [prevLe = 0, prevN = 0] = s.buckets[i - 1]!;
      const [le = 0, n = 0] = s.buckets[i]!;
      if (le <= prevLe || n < prevN) throw new Error(`${f.name}${key}: buckets not increasing and cumulative`);
    }
    if (s.count !== last[1] || s.sum === undefined) throw new Error(`${f.name}${key}: _count must equal the +Inf bucket, and _sum must be there`);
  }
}

/** The value of the one sample of `family` (or its `_suffix`) whose labels include `labels`. */
export function sampleValue(families: Map<string, PromFamily>, family: string, labels: Record<string, string>, suffix = ''): number | undefined {
  const f = families.get(family);
  const hits = (f?.samples ?? []).filter((s) => s.name === family + suffix && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length > 1) throw new Error(`${family}${suffix} ${JSON.stringify(labels)}: ${hits.length} samples match`);
  return hits[0]?.value;
}
