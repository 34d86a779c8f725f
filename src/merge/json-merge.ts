import { keepBothInserted, type Order } from './hunk-rules.js';
import { detectIndent, hasDuplicateKeys } from './json-scan.js';
import { lineRegions } from './line-regions.js';
import { dominantEol } from './lines.js';
import { mergeText } from './text-merge.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

class JsonConflict extends Error {}

const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

function equal(x: Json | undefined, y: Json | undefined): boolean {
  if (x === y) return true;
  if (x === undefined || y === undefined) return false;
  return JSON.stringify(canonical(x)) === JSON.stringify(canonical(y));
}

function canonical(v: Json): Json {
  if (Array.isArray(v)) return v.map(canonical);
  if (isObject(v)) {
    const out: Record<string, Json> = {};
    for (const k of Object.keys(v).sort()) out[k] = canonical(v[k] as Json);
    return out;
  }
  return v;
}

/** Key order of the result: local's order, each key only the remote added placed after the key it follows in the remote. */
function keyOrder(a: readonly string[], b: readonly string[]): string[] {
  const out = [...a];
  const have = new Set(a);
  let after: string | null = null;
  for (const k of b) {
    if (!have.has(k)) {
      const at: number = after === null ? 0 : out.indexOf(after) + 1;
      out.splice(at, 0, k);
      have.add(k);
    }
    after = k;
  }
  return out;
}

function mergeObject(o: Record<string, Json> | undefined, a: Record<string, Json>, b: Record<string, Json>, order: Order): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const k of keyOrder(Object.keys(a), Object.keys(b))) {
    const inA = Object.hasOwn(a, k);
    const inB = Object.hasOwn(b, k);
    const vo = o && Object.hasOwn(o, k) ? o[k] : undefined;
    if (inA && inB) out[k] = mergeValue(vo, a[k] as Json, b[k] as Json, order);
    else {
      const kept = (inA ? a[k] : b[k]) as Json;
      if (vo === undefined)
        out[k] = kept; // added by one side
      else if (!equal(vo, kept)) throw new JsonConflict(`"${k}" changed on one side and deleted on the other`);
      // else: deleted by one side, unchanged by the other
    }
  }
  return out;
}

/** Arrays merge as sequences of elements; equal-length collisions recurse element by element. */
function mergeArray(o: Json[], a: Json[], b: Json[], order: Order): Json[] {
  const key = (v: Json) => JSON.stringify(canonical(v)) + '\n';
  const byKey = new Map<string, Json>();
  for (const v of [...o, ...a, ...b]) byKey.set(key(v), v);
  const out: Json[] = [];
  for (const r of lineRegions(a.map(key), o.map(key), b.map(key))) {
    if ('ok' in r) {
      out.push(...r.ok.map((k) => byKey.get(k) as Json));
      continue;
    }
    const h = r.hunk;
    if (h.o.length === h.a.length && h.a.length === h.b.length) {
      h.o.forEach((k, i) => {
        out.push(mergeValue(byKey.get(k), byKey.get(h.a[i] as string) as Json, byKey.get(h.b[i] as string) as Json, order));
      });
      continue;
    }
    const both = keepBothInserted(h, order);
    if (!both) throw new JsonConflict('an array changed at the same place on both sides');
    out.push(...both.map((k) => byKey.get(k) as Json));
  }
  return out;
}

function mergeValue(o: Json | undefined, a: Json, b: Json, order: Order): Json {
  if (equal(a, b)) return a;
  if (o !== undefined && equal(o, a)) return b;
  if (o !== undefined && equal(o, b)) return a;
  if (isObject(a) && isObject(b) && isObject(o)) return mergeObject(o, a, b, order);
  if (Array.isArray(a) && Array.isArray(b) && Array.isArray(o)) return mergeArray(o, a, b, order);
  throw new JsonConflict(o === undefined ? 'the same key added on both sides with different values' : 'the same value changed on both sides');
}

function parse(text: string, which: string): Json {
  // A BOM is legal in a file but not to JSON.parse.
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '') return {};
  const v = JSON.parse(body) as Json;
  if (hasDuplicateKeys(body)) throw new JsonConflict(`${which} has a duplicate key`);
  return v;
}

function serialize(v: Json, like: string): string {
  const eol = dominantEol(like);
  const indent = detectIndent(like);
  let out = JSON.stringify(v, null, indent);
  if (eol === '\r\n') out = out.replace(/\n/g, '\r\n');
  if (/\r?\n$/.test(like)) out += eol;
  return (like.startsWith('\uFEFF') ? '\uFEFF' : '') + out;
}

export type JsonMergeResult = { status: 'merged'; text: string; hunks: number } | { status: 'unresolved'; reason: string; hunks: number };

/**
 * Structural 3-way merge by key. The text is kept as the file has it: when the line/word
 * merge of the text yields exactly the structural result, that text is used; else the
 * structural result is written in the file's own indentation, which must reproduce the
 * local file's formatting byte for byte when nothing changed (else: unresolved, rather
 * than reformat someone's file).
 */
export function mergeJson(base: string | null, local: string, remote: string, order: Order): JsonMergeResult {
  let merged: Json;
  let vl: Json;
  let vr: Json;
  try {
    vl = parse(local, 'the local side');
    vr = parse(remote, 'the remote side');
    const vo = base === null ? undefined : parse(base, 'the base');
    merged = mergeValue(vo, vl, vr, order);
  } catch (e) {
    if (e instanceof SyntaxError) return { status: 'unresolved', reason: `not valid JSON: ${e.message}`, hunks: 1 };
    if (e instanceof JsonConflict) return { status: 'unresolved', reason: e.message, hunks: 1 };
    throw e;
  }
  const text = mergeText({ strategy: 'text', base, local, remote, order });
  const hunks = text.hunks;
  if (text.status === 'merged' && structurallyIs(text.text, merged)) return { status: 'merged', text: text.text, hunks };
  for (const [like, value] of [
    [local, vl],
    [remote, vr],
  ] as const) {
    if (serialize(value, like) === like) return { status: 'merged', text: serialize(merged, like), hunks: Math.max(hunks, 1) };
  }
  return { status: 'unresolved', reason: "the structural merge cannot keep the file's own formatting", hunks: Math.max(hunks, 1) };
}

/** Does a text parse, without duplicate keys, to exactly this value (key order included)? */
export function structurallyIs(text: string, value: Json): boolean {
  try {
    const body = text.replace(/^\uFEFF/, '');
    return !hasDuplicateKeys(body) && JSON.stringify(JSON.parse(body)) === JSON.stringify(value);
  } catch {
    return false;
  }
}
