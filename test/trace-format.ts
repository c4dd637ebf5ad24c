/**
 * @file A checker for the Chrome Trace Event Format (the JSON Perfetto and chrome://tracing import), written from
 * the format's specification: the object form with a traceEvents array; per phase the fields it requires (X: ts,
 * dur; C: numeric args; s/f: id, ts, and a flow end bound to its enclosing slice with bp 'e'; M: a known metadata
 * name with args.name); integer pid/tid; and complete events on each thread properly nested, which Perfetto needs to
 * build its slice stacks. Returns the problems found, empty for a valid trace.
 */

interface TraceEvent {
  name?: unknown;
  ph?: unknown;
  ts?: unknown;
  dur?: unknown;
  pid?: unknown;
  tid?: unknown;
  id?: unknown;
  bp?: unknown;
  cat?: unknown;
  args?: unknown;
}

const PHASES = new Set(['X', 'B', 'E', 'i', 'I', 'C', 's', 't', 'f', 'M', 'b', 'e', 'n']);
const METADATA = new Set(['process_name', 'process_labels', 'process_sort_index', 'thread_name', 'thread_sort_index']);
const isInt = (v: unknown) => Number.isInteger(v);
const isTime = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

export function chromeTraceProblems(trace: unknown): string[] {
  const out: string[] = [];
  if (trace === null || typeof trace !== 'object' || !Array.isArray((trace as { traceEvents?: unknown }).traceEvents))
    return ['not an object with a traceEvents array'];
  const t = trace as { traceEvents: TraceEvent[]; displayTimeUnit?: unknown };
  if (t.displayTimeUnit !== undefined && t.displayTimeUnit !== 'ms' && t.displayTimeUnit !== 'ns')
    out.push(`displayTimeUnit must be 'ms' or 'ns', got ${JSON.stringify(t.displayTimeUnit)}`);
  const slices = new Map<string, { ts: number; end: number; name: string }[]>();
  t.traceEvents.forEach((e, i) => {
    const at = `traceEvents[${i}] (${JSON.stringify(e?.name)}, ph ${JSON.stringify(e?.ph)})`;
    if (e === null || typeof e !== 'object') return void out.push(`traceEvents[${i}] is not an object`);
    if (typeof e.ph !== 'string' || !PHASES.has(e.ph)) return void out.push(`${at}: unknown ph`);
    if (typeof e.name !== 'string') out.push(`${at}: name must be a string`);
    if (!isInt(e.pid)) out.push(`${at}: pid must be an integer`);
    if (e.ph !== 'C' && e.ph !== 'M' && !isInt(e.tid)) out.push(`${at}: tid must be an integer`);
    if (e.ph !== 'M' && !isTime(e.ts)) out.push(`${at}: ts must be a finite time ≥ 0 (µs)`);
    if (e.args !== undefined && (e.args === null || typeof e.args !== 'object'))
      out.push(`${at}: args must be an object`);
    if (e.ph === 'X') {
      if (!isTime(e.dur)) out.push(`${at}: a complete event needs dur ≥ 0`);
      const key = `${e.pid}/${e.tid}`;
      (slices.get(key) ?? slices.set(key, []).get(key)!).push({
        ts: e.ts as number,
        end: (e.ts as number) + (e.dur as number),
        name: e.name as string,
      });
    }
    if (e.ph === 'C') {
      const args = e.args as Record<string, unknown> | undefined;
      if (!args || Object.keys(args).length === 0) out.push(`${at}: a counter needs args`);
      else
        for (const [k, v] of Object.entries(args))
          if (typeof v !== 'number') out.push(`${at}: counter ${k} not a number`);
    }
    if (e.ph === 's' || e.ph === 't' || e.ph === 'f') {
      if (typeof e.id !== 'number' && typeof e.id !== 'string') out.push(`${at}: a flow event needs an id`);
      if (e.bp !== undefined && e.bp !== 'e') out.push(`${at}: bp must be 'e'`);
    }
    if (e.ph === 'M') {
      if (!METADATA.has(e.name as string)) out.push(`${at}: unknown metadata name`);
      const name = (e.args as { name?: unknown } | undefined)?.name;
      if (/_name$/.test(e.name as string) && typeof name !== 'string') out.push(`${at}: needs args.name`);
    }
  });
  // Complete events on one thread must nest: each one inside the enclosing open one or after it.
  for (const [key, list] of slices) {
    list.sort((a, b) => a.ts - b.ts || b.end - a.end);
    const open: { end: number; name: string }[] = [];
    for (const s of list) {
      while (open.length && open[open.length - 1].end <= s.ts) open.pop();
      const top = open[open.length - 1];
      if (top && s.end > top.end) out.push(`thread ${key}: '${s.name}' overlaps '${top.name}' without nesting in it`);
      open.push(s);
    }
  }
  // Flow ends bind to a slice: each s and f must fall inside a complete event on its thread.
  const ends = new Map<unknown, number>();
  for (const e of t.traceEvents) {
    if (e?.ph !== 's' && e?.ph !== 'f') continue;
    const inside = (slices.get(`${e.pid}/${e.tid}`) ?? []).some(
      (s) => s.ts <= (e.ts as number) && (e.ts as number) <= s.end,
    );
    if (!inside) out.push(`flow ${e.ph} ${String(e.id)} at ${String(e.ts)} is inside no slice of its thread`);
    ends.set(e.id, (ends.get(e.id) ?? 0) + (e.ph === 's' ? 1 : -1));
  }
  for (const [id, n] of ends) if (n !== 0) out.push(`flow ${String(id)} has ${n > 0 ? 'no end' : 'no start'}`);
  return out;
}
