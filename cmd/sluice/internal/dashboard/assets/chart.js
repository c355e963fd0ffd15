// Canvas drawings of the dashboard: time-series charts and the partition
// strip. Colors come from the page's CSS custom properties, so both follow
// the light or dark color scheme.

import * as fmt from './format.js';

/** colors reads the palette from the CSS custom properties of el. */
export function colors(el) {
  const cs = getComputedStyle(el);
  const v = (name) => cs.getPropertyValue(name).trim();
  return {
    fg: v('--fg'), muted: v('--muted'), grid: v('--grid'), bg: v('--card'),
    accent: v('--accent'), warn: v('--warn'), bad: v('--bad'), ok: v('--ok'), idle: v('--idle'),
  };
}

/** sized prepares canvas for drawing at its CSS size and the screen's pixel ratio; it returns the context and the size in CSS pixels. */
function sized(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 300;
  const h = canvas.clientHeight || 120;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

/** niceMax rounds a chart's top value up to 1, 2 or 5 times a power of ten. */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/** durationSteps are chart tops, in seconds, whose halves read well as durations. */
const durationSteps = [1, 2, 4, 10, 20, 30, 60, 120, 240, 600, 1200, 1800, 3600, 7200, 14400, 21600, 43200, 86400];

/** niceDuration rounds a top value in seconds up to one of durationSteps (or whole days). */
export function niceDuration(v) {
  if (!(v > 0)) return 1;
  return durationSteps.find((s) => v <= s) || Math.ceil(v / 86400) * 86400;
}

/**
 * drawSeries draws one time series on canvas: points are {t (ms), v}, a
 * null v is a gap; spanMs is the time shown, ending at now (ms).
 * opts: {color, format (value → axis label), nice (largest value → top of
 * the axis), empty (the text without data)}.
 */
export function drawSeries(canvas, points, now, spanMs, opts) {
  const { ctx, w, h } = sized(canvas);
  const c = colors(canvas);
  const left = 46, right = 8, top = 8, bottom = 18;
  const pw = w - left - right, ph = h - top - bottom;
  const from = now - spanMs;
  const shown = points.filter((p) => p.t >= from);
  const top_ = (opts.nice || niceMax)(Math.max(0, ...shown.map((p) => (p.v == null ? 0 : p.v))));
  const x = (t) => left + ((t - from) / spanMs) * pw;
  const y = (v) => top + ph - (v / top_) * ph;

  ctx.font = '11px system-ui, sans-serif';
  ctx.lineWidth = 1;
  ctx.strokeStyle = c.grid;
  ctx.fillStyle = c.muted;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  for (let i = 0; i <= 2; i++) {
    const v = (top_ * i) / 2;
    const yy = Math.round(y(v)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(left, yy);
    ctx.lineTo(w - right, yy);
    ctx.stroke();
    ctx.fillText((opts.format || fmt.compact)(v), left - 4, yy);
  }
  ctx.textBaseline = 'top';
  ctx.textAlign = 'center';
  const minutes = spanMs / 60000;
  for (let m = 0; m <= minutes; m += minutes > 6 ? 2 : 1) {
    const xx = x(now - m * 60000);
    ctx.fillText(m === 0 ? 'now' : '−' + m + ' min', Math.min(Math.max(xx, left + 24), w - right - 14), top + ph + 4);
  }

  ctx.strokeStyle = opts.color || c.accent;
  ctx.fillStyle = opts.color || c.accent;
  ctx.lineWidth = 2;
  ctx.lineJoin = 'round';
  let run = [];
  const flush = () => {
    if (run.length === 1) {
      ctx.beginPath();
      ctx.arc(x(run[0].t), y(run[0].v), 2, 0, 2 * Math.PI);
      ctx.fill();
    } else if (run.length > 1) {
      ctx.beginPath();
      run.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.v)) : ctx.moveTo(x(p.t), y(p.v))));
      ctx.stroke();
      ctx.globalAlpha = 0.12;
      ctx.lineTo(x(run[run.length - 1].t), y(0));
      ctx.lineTo(x(run[0].t), y(0));
      ctx.closePath();
      ctx.fill();
      ctx.globalAlpha = 1;
    }
    run = [];
  };
  for (const p of shown) {
    if (p.v == null) flush();
    else run.push(p);
  }
  flush();
  if (!shown.some((p) => p.v != null)) {
    ctx.fillStyle = c.muted;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(opts.empty || 'no data yet', left + pw / 2, top + ph / 2);
  }
}

/**
 * drawStrip draws a window's partitions as one strip of cells: the color
 * says how far each one's largest event time is behind the most advanced
 * partition (relative to the most behind), idle ones are gray and hatched,
 * the holding one is outlined. It returns the cell width so that a pointer
 * position maps back to a partition.
 */
export function drawStrip(canvas, parts, holding) {
  const { ctx, w, h } = sized(canvas);
  const c = colors(canvas);
  ctx.lineWidth = 1;
  const n = parts.length;
  if (n === 0) return 0;
  const cell = w / n;
  const times = parts.filter((p) => !p.idle && p.max_event_time).map((p) => Date.parse(p.max_event_time));
  const hi = times.length ? Math.max(...times) : 0;
  const lo = times.length ? Math.min(...times) : 0;
  const gap = cell >= 4 ? 1 : 0;
  parts.forEach((p, i) => {
    const x0 = i * cell, cw = Math.max(cell - gap, 1);
    if (!p.max_event_time && !p.idle) {
      ctx.strokeStyle = c.muted;
      ctx.strokeRect(x0 + 0.5, 6.5, Math.max(cw - 1, 0.5), h - 13);
      return;
    }
    if (p.idle) {
      ctx.fillStyle = c.idle;
      ctx.fillRect(x0, 6, cw, h - 12);
      ctx.strokeStyle = c.bg;
      ctx.beginPath();
      for (let k = -h; k < cw; k += 4) {
        ctx.moveTo(x0 + k, h - 6);
        ctx.lineTo(x0 + k + h - 12, 6);
      }
      ctx.save();
      ctx.rect(x0, 6, cw, h - 12);
      ctx.clip();
      ctx.stroke();
      ctx.restore();
      return;
    }
    // Spreads under 10 s are not worth a warning color.
    const behind = (hi - Date.parse(p.max_event_time)) / Math.max(hi - lo, 10000);
    ctx.fillStyle = behind > 0.66 ? c.bad : behind > 0.2 ? c.warn : c.ok;
    ctx.globalAlpha = 0.45 + 0.55 * behind;
    ctx.fillRect(x0, 6, cw, h - 12);
    ctx.globalAlpha = 1;
  });
  if (holding && holding.index < n) {
    // An outline, and triangles above and below that stay visible when a cell is a few pixels wide.
    const x0 = holding.index * cell, mx = x0 + cell / 2;
    ctx.strokeStyle = c.fg;
    ctx.lineWidth = 2;
    ctx.strokeRect(x0 + 1, 6, Math.max(cell - 2, 1), h - 12);
    ctx.fillStyle = c.fg;
    for (const [tip, base] of [[6, 0], [h - 6, h]]) {
      ctx.beginPath();
      ctx.moveTo(mx - 6, base);
      ctx.lineTo(mx + 6, base);
      ctx.lineTo(mx, tip);
      ctx.closePath();
      ctx.fill();
    }
  }
  return cell;
}
