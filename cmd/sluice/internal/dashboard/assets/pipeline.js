// One pipeline's card: a summary line that is always shown, and, when the
// card is open, its stage graph, rates, charts, windows, latest results,
// sinks, checkpoints and errors.

import { h, table, facts } from './dom.js';
import { drawSeries, drawStrip, colors, niceDuration } from './chart.js';
import * as fmt from './format.js';

/** chartSpanMs is how much history the charts show. */
export const chartSpanMs = 10 * 60 * 1000;

const partitionRowsShown = 16;

/** badge is a pipeline state as a colored label. */
export function badge(state) {
  return h('span', { class: 'badge state-' + state, 'data-state': state }, state);
}

/** windows returns the window stages of a pipeline status. */
function windows(st) {
  return (st.stages || []).filter((s) => s.window);
}

/** lagOf is the largest watermark lag among the window stages, or null. */
export function lagOf(st) {
  const lags = windows(st).filter((s) => s.window.watermark).map((s) => s.window.watermark_lag_seconds);
  return lags.length ? Math.max(...lags) : null;
}

/** isProblem tells whether a pipeline needs attention: failed, disconnected or with recent errors. */
export function isProblem(st) {
  return st.state === 'failed' || (st.state === 'running' && !st.source.connected) || (st.errors || []).length > 0;
}

/** summary builds the card's always-visible line. */
export function summary(tr) {
  const st = tr.status, c = st.counts, r = tr.rates;
  const lag = lagOf(st);
  const holding = windows(st).map((s) => s.window.holding).find((x) => x);
  const fact = (name, label, value, extra) =>
    h('span', { class: 'fact', 'data-fact': name }, h('span', { class: 'label' }, label + ' '), h('span', { class: 'value' }, value), extra);
  return [
    h('h2', {}, badge(st.state), ' ', h('span', { class: 'name' }, st.name)),
    h('span', { class: 'facts-line' },
      fact('in', 'in', fmt.count(c.in), h('span', { class: 'rate' }, ' · ' + fmt.rate(r && r.in) + '/s')),
      fact('out', 'out', fmt.count(c.out)),
      c.late ? fact('late', 'late', fmt.count(c.late)) : null,
      c.dead ? fact('dead', 'dead', fmt.count(c.dead)) : null,
      lag != null ? fact('lag', 'lag', fmt.duration(lag)) : null,
      holding ? h('span', { class: 'fact holding-mark', 'data-fact': 'holding', title: holding.name + ' holds the watermark back' },
        '◆ held by ' + shortName(holding.name)) : null,
      st.state === 'running' && !st.source.connected ? h('span', { class: 'fact alert' }, 'source disconnected') : null,
      st.errors.length ? h('span', { class: 'fact alert', 'data-fact': 'errors' }, st.errors.length + (st.errors.length === 1 ? ' error' : ' errors')) : null),
  ];
}

/** shortName drops a partition name's persistent://tenant/namespace/ prefix. */
function shortName(name) {
  return name.slice(name.lastIndexOf('/') + 1) || name;
}

/** body builds the open card's content; it draws its canvases once they are in the document (after()). */
export function body(tr, now, ui) {
  const st = tr.status;
  const draws = [];
  const el = h('div', { class: 'body' },
    st.error ? h('p', { class: 'pipeline-error', role: 'alert' }, 'Failed: ' + st.error) : null,
    section('Flow', flow(tr), 'wide'),
    section('Throughput and watermark lag', charts(tr, now, draws), 'wide'),
    section('Records', counts(tr)),
    section('Source', source(tr)),
    section('Checkpoints', checkpoints(st, now)),
    windows(st).map((s) => section(s.title, windowPanel(tr, s, ui, draws), 'wide', 'window')),
    section('Latest results', results(st), 'wide'),
    section('Sinks', sinks(tr), 'wide'),
    section('Recent errors', errors(st), 'wide'),
  );
  return { el, after: () => draws.forEach((d) => d()) };
}

function section(title, content, cls, kind) {
  return h('section', { class: 'panel ' + (cls || ''), 'data-section': kind || title.toLowerCase() }, h('h3', {}, title), content);
}

/** flow draws the stage graph: source → stages → sinks, and the dead letter. */
function flow(tr) {
  const st = tr.status, r = tr.rates || {};
  const num = (label, v, cls) => h('span', { class: 'io ' + (cls || '') }, h('span', { class: 'label' }, label + ' '), fmt.count(v));
  const rate = (v) => h('span', { class: 'node-rate' }, fmt.rate(v) + '/s');
  const backlog = st.source.partitions.reduce((sum, p) => (p.backlog == null ? sum : (sum || 0) + p.backlog), null);
  const nodes = [
    h('li', { class: 'node source' + (st.source.connected ? '' : ' down') },
      h('span', { class: 'kind' }, 'source'), h('strong', {}, st.source.title || 'source'),
      rate(r.in),
      num('read', st.source.records),
      backlog != null ? num('backlog', backlog, backlog > 0 ? 'warn' : '') : null,
      h('span', { class: 'conn' }, st.source.connected ? 'connected' : 'disconnected')),
  ];
  st.stages.forEach((s, i) => {
    const w = s.window;
    nodes.push(h('li', { class: 'node stage kind-' + s.kind, 'data-stage': s.title },
      h('span', { class: 'kind' }, s.kind), h('strong', {}, s.title),
      rate(r.stages && r.stages[i]),
      num('in', s.in), num('out', s.out),
      s.filtered ? num('filtered', s.filtered) : null,
      s.late ? num('late', s.late, 'warn') : null,
      s.dead ? num('dead (' + s.dead_reason + ')', s.dead, 'bad') : null,
      w && w.watermark ? h('span', { class: 'io' }, h('span', { class: 'label' }, 'lag '), fmt.duration(w.watermark_lag_seconds)) : null,
      w && w.holding ? h('span', { class: 'io holding-mark', title: w.holding.name + ' holds the watermark back' }, '◆ ' + shortName(w.holding.name)) : null));
  });
  nodes.push(h('li', { class: 'node sinks' }, st.sinks.length ? null : h('span', { class: 'note' }, 'no sink'), st.sinks.map((s, i) => h('div', { class: 'sink' + (s.errors ? ' bad' : '') },
    h('span', { class: 'kind' }, 'sink'), h('strong', {}, s.title),
    rate(r.sinks && r.sinks[i]), num('rows', s.rows),
    s.errors ? num('errors', s.errors, 'bad') : null,
    s.rejected ? num('rejected', s.rejected, 'warn') : null))));
  const dl = st.dead_letter;
  return h('div', { class: 'flow-wrap' },
    h('ol', { class: 'flow', 'aria-label': 'stage graph of ' + st.name }, nodes),
    dl.title || dl.records ? h('p', { class: 'dead-letter' + (dl.records ? ' has' : '') },
      '↳ dead letter ', h('strong', {}, dl.title || '(none)'), ': ', fmt.plural(dl.records, 'record'),
      dl.errors ? ', ' + fmt.count(dl.errors) + ' write errors' : '') : null);
}

/** counts is the pipeline's record counters and their rates. */
function counts(tr) {
  const c = tr.status.counts, r = tr.rates || {};
  const names = ['in', 'out', 'filtered', 'late', 'dead', 'emitted'];
  return h('div', {},
    table(null, ['records', { text: 'total', num: true }, { text: 'per second', num: true }],
      names.map((n) => [n, h('span', { 'data-count': n }, fmt.count(c[n])), fmt.rate(r[n])]),
      { rowHeaders: true, class: 'counts' }),
    h('p', { class: 'note' }, 'in = out + filtered + late + dead; emitted rows went to the sinks.'),
    c.results_dropped || c.results_dead || c.sink_rejected ? facts([
      ['results dropped', c.results_dropped ? fmt.count(c.results_dropped) : null],
      ['results dead', c.results_dead ? fmt.count(c.results_dead) : null],
      ['rows rejected by sinks', c.sink_rejected ? fmt.count(c.sink_rejected) : null],
    ]) : null);
}

/** source is the source's connection, volume and batch pool. */
function source(tr) {
  const s = tr.status.source, q = tr.status.queue, r = tr.rates || {};
  const known = s.partitions.filter((p) => p.backlog != null);
  const worst = known.reduce((a, p) => (a && a.backlog >= p.backlog ? a : p), null);
  return facts([
    ['source', s.title],
    ['connection', s.connected ? 'connected' : 'disconnected'],
    ['reconnects', fmt.count(s.reconnects)],
    ['read', fmt.count(s.records) + ' records, ' + fmt.bytes(s.bytes)],
    ['read rate', fmt.bytes(r.bytes || 0) + '/s'],
    ['partitions', s.partitions.length ? fmt.count(s.partitions.length) : null],
    ['backlog', known.length ? fmt.count(known.reduce((a, p) => a + p.backlog, 0)) + ' records' +
      (worst && worst.backlog > 0 && known.length > 1 ? ' (most: ' + fmt.count(worst.backlog) + ' in ' + shortName(worst.name) + ')' : '') : null],
    ['batches in use', q.batches ? h('span', {}, h('meter', { min: 0, max: q.batches, value: q.in_flight, high: q.batches * 0.9, 'aria-label': 'batches in use' }),
      ' ' + q.in_flight + ' of ' + q.batches + (q.in_flight >= q.batches ? ' (backpressure)' : '')) : null],
  ]);
}

/** charts draws the pipeline's throughput and watermark lag history. */
function charts(tr, now, draws) {
  const t = Date.parse(now);
  const last = tr.history[tr.history.length - 1] || {};
  const rateCanvas = h('canvas', { class: 'chart', role: 'img', 'aria-label': 'records in per second over the last 10 minutes; now ' + fmt.rate(last.rate) });
  const lagCanvas = h('canvas', { class: 'chart', role: 'img', 'aria-label': 'watermark lag over the last 10 minutes; now ' + fmt.duration(last.lag) });
  draws.push(() => {
    const c = colors(rateCanvas);
    drawSeries(rateCanvas, tr.history.map((p) => ({ t: p.t, v: p.rate })), t, chartSpanMs, { color: c.accent });
    drawSeries(lagCanvas, tr.history.map((p) => ({ t: p.t, v: p.lag })), t, chartSpanMs,
      { color: c.warn, format: fmt.axisDuration, nice: niceDuration, empty: windows(tr.status).length ? 'no watermark yet' : 'no window' });
  });
  return h('div', { class: 'charts' },
    h('figure', {}, rateCanvas, h('figcaption', {}, 'records in per second · now ', h('strong', {}, fmt.rate(last.rate)))),
    h('figure', {}, lagCanvas, h('figcaption', {}, 'watermark lag · now ', h('strong', {}, fmt.duration(last.lag)))));
}

/** windowPanel shows a window stage's watermark, the partition holding it back and every partition as a strip. */
function windowPanel(tr, s, ui, draws) {
  const w = s.window, st = tr.status;
  const key = s.title;
  const parts = w.partitions || [];
  const idle = parts.filter((p) => p.idle).length;
  const hold = w.holding;
  const p50 = w.emit_latency.count ? fmt.duration(quantile(w.emit_latency, 0.5)) : null;
  const p99 = w.emit_latency.count ? fmt.duration(quantile(w.emit_latency, 0.99)) : null;
  const info = facts([
    ['watermark', w.watermark ? fmt.time(w.watermark) : 'none yet'],
    ['lag', w.watermark ? fmt.duration(w.watermark_lag_seconds) : null],
    ['open windows', fmt.count(w.open_windows)],
    ['state', fmt.bytes(w.state_bytes)],
    ['emit latency', p50 ? 'p50 ' + p50 + ' · p99 ' + p99 + ' (' + fmt.plural(w.emit_latency.count, 'emit') + ')' : 'no emit yet'],
    ['late records', s.late ? fmt.count(s.late) : null],
  ]);
  const holdNote = hold
    ? h('p', { class: 'holding', 'data-holding': hold.name, role: 'note' },
      h('strong', {}, '◆ ' + hold.name), ' holds the watermark back: ',
      hold.max_event_time ? fmt.duration(hold.behind_seconds) + ' behind the most advanced partition' : 'no record yet',
      ', last delivery ' + fmt.duration(hold.last_delivery_seconds_ago) + ' ago',
      hold.idle_in_seconds != null ? ', idle in ' + fmt.duration(Math.max(hold.idle_in_seconds, 0)) : '',
      ' (holding since ' + fmt.clock(hold.since) + ')')
    : h('p', { class: 'note' }, parts.length ? 'No partition holds the watermark back.' : 'No partition delivered yet.');
  if (!parts.length) return h('div', {}, info, holdNote);

  const strip = h('canvas', { class: 'strip', role: 'img',
    'aria-label': parts.length + ' partitions, ' + idle + ' idle' + (hold ? ', ' + hold.name + ' holding the watermark back' : '') });
  const out = h('output', { class: 'strip-hover' }, ui.hover.get(key) || 'point at a partition for its details');
  let cell = 0;
  draws.push(() => { cell = drawStrip(strip, parts, hold); });
  strip.addEventListener('mousemove', (e) => {
    const p = parts[Math.floor(e.offsetX / (cell || 1))];
    if (!p) return;
    const text = describePartition(p, parts, hold, st);
    out.textContent = text;
    ui.hover.set(key, text);
  });
  const legend = h('p', { class: 'legend' },
    h('span', { class: 'sw ok' }), 'up to date ', h('span', { class: 'sw warn' }), 'behind ',
    h('span', { class: 'sw bad' }), 'most behind ', h('span', { class: 'sw idle' }), 'idle (' + idle + ') ',
    h('span', { class: 'sw none' }), 'no record yet ', hold ? [h('span', { class: 'sw hold' }), 'holding'] : null);
  return h('div', {}, info, holdNote,
    h('div', { class: 'strip-wrap' }, h('span', { class: 'strip-label' }, parts.length + (parts.length === 1 ? ' partition' : ' partitions')), strip),
    out, legend, partitionDetails(tr, s, ui));
}

/** describePartition is one partition's line for the strip's pointer. */
function describePartition(p, parts, hold, st) {
  const hi = Math.max(...parts.filter((q) => !q.idle && q.max_event_time).map((q) => Date.parse(q.max_event_time)));
  const behind = p.max_event_time && Number.isFinite(hi) ? (hi - Date.parse(p.max_event_time)) / 1000 : null;
  const src = st.source.partitions[p.index];
  return [p.name,
    'max event time ' + fmt.time(p.max_event_time),
    behind != null ? fmt.duration(behind) + ' behind' : null,
    'last delivery ' + fmt.clock(p.last_delivery),
    src && src.backlog != null ? 'backlog ' + fmt.count(src.backlog) : null,
    p.idle ? 'idle' : null,
    hold && hold.index === p.index ? 'holding the watermark back' : null].filter(Boolean).join(' · ');
}

/** partitionDetails is the on-demand table of a window's partitions, most behind first. */
function partitionDetails(tr, s, ui) {
  const key = s.title;
  const parts = s.window.partitions;
  const hold = s.window.holding;
  const det = h('details', { class: 'parts', open: ui.open.has(key) });
  det.append(h('summary', {}, 'Partitions table (' + parts.length + ')'));
  det.addEventListener('toggle', () => {
    if (det.open) ui.open.add(key);
    else ui.open.delete(key);
    fill();
  });
  const fill = () => {
    while (det.children.length > 1) det.lastChild.remove();
    if (!det.open) return;
    const hi = Math.max(...parts.filter((q) => !q.idle && q.max_event_time).map((q) => Date.parse(q.max_event_time)));
    const rank = (p) => (hold && hold.index === p.index ? -Infinity : p.max_event_time ? Date.parse(p.max_event_time) : -1e20);
    const sorted = [...parts].sort((a, b) => rank(a) - rank(b) || a.index - b.index);
    const all = ui.all.has(key);
    const shown = all ? sorted : sorted.slice(0, partitionRowsShown);
    det.append(table(null, ['partition', 'max event time', { text: 'behind', num: true }, 'last delivery', { text: 'backlog', num: true }, 'status'],
      shown.map((p) => {
        const src = tr.status.source.partitions[p.index];
        return [p.name, fmt.time(p.max_event_time),
          p.max_event_time && Number.isFinite(hi) ? fmt.duration((hi - Date.parse(p.max_event_time)) / 1000) : '–',
          fmt.clock(p.last_delivery), src && src.backlog != null ? fmt.count(src.backlog) : '–',
          hold && hold.index === p.index ? h('strong', { class: 'holding-mark' }, '◆ holding') : p.idle ? 'idle' : 'active'];
      }), { rowHeaders: true, class: 'parts-table', rowAttrs: (i) => ({ class: hold && hold.index === shown[i].index ? 'holding-row' : null }) }));
    if (sorted.length > partitionRowsShown) {
      det.append(h('button', { type: 'button', onclick: () => { if (all) ui.all.delete(key); else ui.all.add(key); fill(); } },
        all ? 'Show the ' + partitionRowsShown + ' most behind' : 'Show all ' + sorted.length));
    }
  };
  fill();
  return det;
}

/** results shows the rows the sinks wrote last, newest first. */
function results(st) {
  const sink = st.sinks.find((s) => s.last_rows.length);
  if (!sink) return h('p', { class: 'note' }, 'No row written yet.');
  const rows = sink.last_rows.slice().reverse();
  const cols = [];
  for (const r of rows) for (const k of Object.keys(r || {})) if (!cols.includes(k)) cols.push(k);
  const numeric = cols.map((k) => rows.every((r) => r[k] == null || typeof r[k] === 'number'));
  return h('div', { class: 'scroll' }, table('last ' + fmt.plural(rows.length, 'row') + ' written, newest first',
    cols.map((k, i) => ({ text: k, num: numeric[i] })),
    rows.map((r) => cols.map((k) => fmt.cell(r[k]))), { class: 'results' }));
}

/** sinks tabulates each sink's rows, failures and write durations. */
function sinks(tr) {
  const st = tr.status, r = tr.rates || {};
  if (!st.sinks.length) return h('p', { class: 'note' }, 'No sink yet.');
  return h('div', { class: 'scroll-x' }, table(null, ['sink', { text: 'rows', num: true }, { text: 'rows/s', num: true }, { text: 'errors', num: true },
    { text: 'retries', num: true }, { text: 'rejected', num: true }, { text: 'write p50', num: true }, { text: 'write p99', num: true }],
  st.sinks.map((s, i) => [s.title, fmt.count(s.rows), fmt.rate(r.sinks && r.sinks[i]), fmt.count(s.errors), fmt.count(s.retries),
    fmt.count(s.rejected), s.write_duration.count ? fmt.duration(quantile(s.write_duration, 0.5)) : '–',
    s.write_duration.count ? fmt.duration(quantile(s.write_duration, 0.99)) : '–']), { rowHeaders: true }));
}

/** checkpoints shows the checkpoint counters and history, newest first. */
function checkpoints(st, now) {
  const k = st.checkpoints;
  const info = k.enabled ? facts([
    ['every', fmt.duration(k.every_seconds)],
    ['taken', fmt.count(k.count) + (k.failed ? ', ' + fmt.count(k.failed) + ' failed' : '')],
    ['epoch', fmt.count(k.epoch)],
    ['last success', fmt.ago(k.last_success, now)],
    ['last size', fmt.bytes(k.last_size_bytes)],
    ['duration', k.duration.count ? 'p50 ' + fmt.duration(quantile(k.duration, 0.5)) + ' · p99 ' + fmt.duration(quantile(k.duration, 0.99)) : null],
  ]) : h('p', { class: 'note' }, 'Checkpoints are off for this pipeline' + (k.history.length ? '; the commits of its output:' : '.'));
  if (!k.history.length) return info;
  const hist = k.history.slice().reverse();
  return h('div', {}, info, h('div', { class: 'scroll short' }, table(null,
    [{ text: 'epoch', num: true }, 'at', { text: 'took', num: true }, { text: 'size', num: true }, 'result'],
    hist.map((e) => [fmt.count(e.epoch), fmt.clock(e.at), fmt.duration(e.duration_seconds), fmt.bytes(e.size_bytes),
      e.result === 'ok' ? 'ok' : h('span', { class: 'bad wrap' }, 'failed' + (e.error ? ': ' + e.error : ''))]),
    { rowAttrs: (i) => ({ class: hist[i].result === 'ok' ? null : 'failed-row' }) })));
}

/** errors lists the pipeline's recent errors, newest first. */
function errors(st) {
  if (!st.errors.length) return h('p', { class: 'note' }, 'None.');
  return h('ul', { class: 'errors' }, st.errors.slice().reverse().map((e) =>
    h('li', {}, h('time', { datetime: e.at }, fmt.clock(e.at)), ' ', e.message)));
}

/** quantile estimates the q-quantile in seconds of a runner histogram snapshot, as Prometheus' histogram_quantile does. */
export function quantile(hs, q) {
  if (!hs.count) return NaN;
  const rank = q * hs.count;
  let lower = 0, below = 0;
  for (let i = 0; i < hs.buckets.length; i++) {
    const c = hs.buckets[i], upper = latencyBuckets[i];
    if (c >= rank) return c === below ? upper : lower + ((upper - lower) * (rank - below)) / (c - below);
    lower = upper;
    below = c;
  }
  return latencyBuckets[latencyBuckets.length - 1];
}

/** latencyBuckets are runner.LatencyBuckets, the histograms' upper bounds in seconds. */
const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
