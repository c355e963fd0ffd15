// The sluice dashboard: polls api/v1/pipelines every two seconds, keeps the
// last minutes of rates and watermark lags in memory for the charts, and
// renders one collapsible card per pipeline.

import { h } from './dom.js';
import { drawSeries, colors, niceDuration } from './chart.js';
import { summary, body, lagOf, isProblem, chartSpanMs } from './pipeline.js';
import * as fmt from './format.js';

const pollMs = 2000;
const timeoutMs = 5000;
const openByDefault = 3; // up to this many pipelines, every card starts open

/** Tracked is what the page knows of one pipeline across polls. */
class Tracked {
  constructor(name) {
    this.name = name;
    this.status = null;
    this.time = null; // the API time of status
    this.rates = null;
    this.history = []; // {t, rate, lag}
    this.open = null; // null until the reader toggles the card
    this.ui = { open: new Set(), all: new Set(), hover: new Map() };
    this.card = null;
    this.visible = true; // the card is in or near the viewport
    this.stale = false; // the open card's body shows an older status
  }

  /** update takes the pipeline's new status at API time now and derives the per-second rates since the last one. */
  update(st, now) {
    normalize(st);
    const prev = this.status, dt = this.time ? (Date.parse(now) - Date.parse(this.time)) / 1000 : 0;
    const per = (a, b) => (dt > 0 && a != null && b != null && a >= b ? (a - b) / dt : null);
    if (prev && dt > 0 && st.since === prev.since) {
      const r = {};
      for (const k of ['in', 'out', 'filtered', 'late', 'dead', 'emitted']) r[k] = per(st.counts[k], prev.counts[k]);
      r.bytes = per(st.source.bytes, prev.source.bytes);
      r.stages = st.stages.map((s, i) => per(s.in, prev.stages[i] && prev.stages[i].in));
      r.sinks = st.sinks.map((s, i) => per(s.rows, prev.sinks[i] && prev.sinks[i].rows));
      this.rates = r;
    } else {
      this.rates = null;
    }
    this.status = st;
    this.time = now;
    const t = Date.parse(now);
    this.history.push({ t, rate: this.rates ? this.rates.in : null, lag: lagOf(st) });
    while (this.history.length && this.history[0].t < t - chartSpanMs) this.history.shift();
  }
}

/** normalize gives the lists of a pipeline status that Go may encode as null (a pipeline still starting) an empty value. */
function normalize(st) {
  st.stages = st.stages || [];
  st.sinks = st.sinks || [];
  st.errors = st.errors || [];
  st.source = st.source || { partitions: [] };
  st.source.partitions = st.source.partitions || [];
  st.checkpoints = st.checkpoints || { history: [], duration: { count: 0, buckets: [] } };
  st.checkpoints.history = st.checkpoints.history || [];
  st.dead_letter = st.dead_letter || {};
  st.queue = st.queue || {};
  st.counts = st.counts || {};
  for (const s of st.stages) if (s.window) s.window.partitions = s.window.partitions || [];
  for (const s of st.sinks) s.last_rows = s.last_rows || [];
}

const state = {
  tracked: new Map(),
  order: [],
  time: null,
  connected: null,
  failures: 0,
  paused: false,
  overview: [], // {t, rate, lag}
  filter: '',
  problemsOnly: false,
};

const $ = (id) => document.getElementById(id);

/** poll fetches the pipelines once and renders them, or marks the page disconnected. */
async function poll() {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const res = await fetch('api/v1/pipelines', { cache: 'no-store', signal: ctl.signal, headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error('HTTP ' + res.status + ' ' + res.statusText);
    const doc = await res.json();
    if (!doc || !Array.isArray(doc.pipelines)) throw new Error('unexpected answer: no pipelines list');
    take(doc);
    setConnection(true);
  } catch (err) {
    setConnection(false, err.name === 'AbortError' ? 'no answer within ' + timeoutMs / 1000 + ' s' : err.message);
  } finally {
    clearTimeout(timer);
  }
}

/** take folds one API document into the page's state and renders it. */
function take(doc) {
  const now = doc.time || new Date().toISOString();
  state.time = now;
  state.order = doc.pipelines.map((p) => p.name);
  const seen = new Set(state.order);
  for (const [name, tr] of state.tracked) {
    if (!seen.has(name)) {
      if (tr.card) {
        onScreen.unobserve(tr.card);
        tr.card.remove();
      }
      state.tracked.delete(name);
    }
  }
  let total = 0, anyRate = false, maxLag = null;
  for (const st of doc.pipelines) {
    let tr = state.tracked.get(st.name);
    if (!tr) state.tracked.set(st.name, (tr = new Tracked(st.name)));
    tr.update(st, now);
    if (tr.rates) {
      total += tr.rates.in || 0;
      anyRate = true;
    }
    const lag = lagOf(st);
    if (lag != null) maxLag = Math.max(maxLag == null ? lag : maxLag, lag);
  }
  const t = Date.parse(now);
  state.overview.push({ t, rate: anyRate ? total : null, lag: maxLag });
  while (state.overview.length && state.overview[0].t < t - chartSpanMs) state.overview.shift();
  render();
}

function setConnection(ok, why) {
  const el = $('connection');
  state.failures = ok ? 0 : state.failures + 1;
  state.connected = ok;
  el.className = 'badge ' + (ok ? 'conn-ok' : 'conn-down');
  el.textContent = ok ? 'connected' : 'disconnected';
  el.title = ok ? '' : why || '';
  $('updated').textContent = ok ? 'updated ' + fmt.clock(state.time) : 'disconnected: ' + why + (state.time ? ' · last data ' + fmt.clock(state.time) : '') + ' · retrying every 2 s';
  document.body.classList.toggle('stale', !ok);
}

/** render updates the overview and every card; an open card's body is rebuilt, a closed one keeps only its summary line. */
function render() {
  const list = $('pipelines');
  const n = state.order.length;
  const tally = {};
  for (const name of state.order) {
    const s = state.tracked.get(name).status.state;
    tally[s] = (tally[s] || 0) + 1;
  }
  $('tally').replaceChildren(
    h('span', {}, n + (n === 1 ? ' pipeline' : ' pipelines')),
    ...Object.entries(tally).map(([s, k]) => h('span', { class: 'badge state-' + s }, k + ' ' + s)));
  $('empty').hidden = n > 0;
  $('overview').hidden = n < 2; // one pipeline's card has the same charts
  let prev = null;
  for (const name of state.order) {
    const tr = state.tracked.get(name);
    if (!tr.card) tr.card = newCard(tr);
    const wanted = prev ? prev.nextSibling : list.firstChild;
    if (tr.card !== wanted) list.insertBefore(tr.card, wanted);
    prev = tr.card;
    renderCard(tr);
  }
  drawOverview();
}

/** onScreen tells which cards are in (or near) the viewport: an open card off screen is redrawn only once it scrolls into view. */
const onScreen = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const tr = state.tracked.get(e.target.dataset.pipeline);
    if (!tr) continue;
    tr.visible = e.isIntersecting;
    if (tr.visible && tr.stale) renderCard(tr);
  }
}, { rootMargin: '400px 0px' });

function newCard(tr) {
  const details = h('details', { open: state.order.length <= openByDefault });
  const card = h('article', { class: 'pipeline', 'data-pipeline': tr.name, 'aria-label': 'pipeline ' + tr.name }, details);
  tr.visible = true; // until the observer says otherwise
  onScreen.observe(card);
  details.append(h('summary', {}), h('div', { class: 'body' }));
  details.addEventListener('toggle', () => {
    tr.open = details.open;
    renderCard(tr);
  });
  return card;
}

function renderCard(tr) {
  const card = tr.card, st = tr.status;
  const details = card.firstChild;
  if (tr.open != null && details.open !== tr.open) details.open = tr.open;
  card.dataset.state = st.state;
  card.hidden = !matches(st);
  details.firstChild.replaceChildren(...summary(tr));
  const old = details.lastChild;
  if (!details.open || card.hidden) {
    if (old.childNodes.length) old.replaceChildren();
    return;
  }
  tr.stale = !tr.visible && old.childNodes.length > 0;
  if (tr.stale) return;
  const b = body(tr, state.time, tr.ui);
  details.replaceChild(b.el, old);
  b.after();
}

function matches(st) {
  if (state.problemsOnly && !isProblem(st)) return false;
  return !state.filter || st.name.toLowerCase().includes(state.filter);
}

function drawOverview() {
  if ($('overview').hidden) return;
  const t = Date.parse(state.time);
  const last = state.overview[state.overview.length - 1] || {};
  const c = colors($('overview-rate'));
  drawSeries($('overview-rate'), state.overview.map((p) => ({ t: p.t, v: p.rate })), t, chartSpanMs, { color: c.accent });
  drawSeries($('overview-lag'), state.overview.map((p) => ({ t: p.t, v: p.lag })), t, chartSpanMs,
    { color: c.warn, format: fmt.axisDuration, nice: niceDuration, empty: 'no watermark' });
  $('overview-rate-now').textContent = fmt.rate(last.rate);
  $('overview-lag-now').textContent = fmt.duration(last.lag);
}

function setAll(open) {
  for (const tr of state.tracked.values()) {
    tr.open = open;
    renderCard(tr);
  }
}

/** loop polls every pollMs, counted from the start of one poll to the next. */
async function loop() {
  const began = Date.now();
  if (!state.paused) await poll();
  setTimeout(loop, Math.max(0, pollMs - (Date.now() - began)));
}

function init() {
  $('filter').addEventListener('input', (e) => {
    state.filter = e.target.value.trim().toLowerCase();
    if (state.time) render();
  });
  $('problems').addEventListener('change', (e) => {
    state.problemsOnly = e.target.checked;
    if (state.time) render();
  });
  $('expand').addEventListener('click', () => setAll(true));
  $('collapse').addEventListener('click', () => setAll(false));
  $('pause').addEventListener('click', (e) => {
    state.paused = !state.paused;
    e.target.textContent = state.paused ? 'Resume' : 'Pause';
    e.target.setAttribute('aria-pressed', String(state.paused));
    $('paused').hidden = !state.paused;
  });
  let resize;
  window.addEventListener('resize', () => {
    clearTimeout(resize);
    resize = setTimeout(() => state.time && render(), 150);
  });
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => state.time && render());
  loop();
}

init();
