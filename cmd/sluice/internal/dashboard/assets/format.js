// Formatting of numbers, durations, sizes and times for the dashboard.

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

/** count formats an exact count with thousands separators: 1,234,567. */
export function count(n) {
  return n == null ? '–' : integer.format(n);
}

/** rate formats a per-second rate: 0, 0.4, 12, 1,234; '–' when unknown. */
export function rate(r) {
  if (r == null || !Number.isFinite(r)) return '–';
  return r < 10 ? decimal.format(r) : integer.format(r);
}

/** compact formats a number for an axis label: 950, 1.2k, 3.4M. */
export function compact(n) {
  const a = Math.abs(n);
  if (a >= 1e9) return decimal.format(n / 1e9) + 'G';
  if (a >= 1e6) return decimal.format(n / 1e6) + 'M';
  if (a >= 1e3) return decimal.format(n / 1e3) + 'k';
  return a >= 10 || a === 0 ? integer.format(n) : decimal.format(n);
}

/** duration formats seconds: 12 ms, 3.4 s, 5 m 12 s, 2 h 3 m, 4 d 1 h. */
export function duration(s) {
  if (s == null || !Number.isFinite(s)) return '–';
  const neg = s < 0 ? '−' : '';
  s = Math.abs(s);
  let out;
  if (s === 0) out = '0 s';
  else if (s < 1) out = integer.format(s * 1000) + ' ms';
  else if (s < 60) out = decimal.format(s) + ' s';
  else if (s < 3600) out = Math.floor(s / 60) + ' m ' + Math.floor(s % 60) + ' s';
  else if (s < 86400) out = Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' m';
  else out = Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
  return neg + out;
}

/** axisDuration formats seconds briefly for a chart axis: 0, 500ms, 15s, 2m, 1h30m, 2d. */
export function axisDuration(s) {
  if (s === 0) return '0';
  if (s < 1) return integer.format(s * 1000) + 'ms';
  if (s < 60) return decimal.format(s) + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm' + (s % 60 ? Math.round(s % 60) + 's' : '');
  if (s < 86400) return Math.floor(s / 3600) + 'h' + (s % 3600 ? Math.round((s % 3600) / 60) + 'm' : '');
  return decimal.format(s / 86400) + 'd';
}

/** bytes formats a size in bytes: 512 B, 1.5 KiB, 3.2 MiB. */
export function bytes(n) {
  if (n == null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return (i === 0 ? integer.format(n) : decimal.format(n)) + ' ' + units[i];
}

/** time formats an ISO timestamp as UTC "2026-01-01 00:01:10Z", keeping milliseconds when there are some. */
export function time(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  let s = d.toISOString().replace('T', ' ');
  s = s.endsWith('.000Z') ? s.slice(0, -5) + 'Z' : s;
  return s;
}

/** clock formats an ISO timestamp as the local wall-clock time HH:MM:SS. */
export function clock(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString('en-GB', { hour12: false });
}

/** ago formats how long before now (an ISO timestamp) iso is: "12 s ago". */
export function ago(iso, now) {
  if (!iso) return 'never';
  const s = (Date.parse(now) - Date.parse(iso)) / 1000;
  return Number.isFinite(s) ? duration(Math.max(s, 0)) + ' ago' : '–';
}

/** plural formats a count with its noun: "1 record", "2 records". */
export function plural(n, noun) {
  return count(n) + ' ' + noun + (n === 1 ? '' : 's');
}

/** cell formats a JSON value of a result row for a table cell. */
export function cell(v) {
  if (v == null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? count(v) : String(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
