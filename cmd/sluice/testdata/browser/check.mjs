// Opens the sluice dashboard in headless Chromium and checks what it shows;
// cmd/sluice/dashboard_test.go runs it. Every check prints "ok: …" or
// "FAIL: …"; the exit status is 1 when any check failed.
//
//   node check.mjs live  --url URL --shots DIR --pipeline NAME --row JSON --holding NAME [--metrics]
//   node check.mjs scale --url URL --shots DIR --pipelines N --partitions N --fail-url URL
//
// Chromium is Debian's (/usr/bin/chromium, or CHROMIUM); playwright-core
// only drives it.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { positionals, values: opt } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' }, shots: { type: 'string' }, pipeline: { type: 'string' }, row: { type: 'string' },
    holding: { type: 'string' }, metrics: { type: 'boolean' }, pipelines: { type: 'string' },
    partitions: { type: 'string' }, 'fail-url': { type: 'string' },
  },
});
const mode = positionals[0];
let failed = 0;
const began = Date.now();
const ok = (msg) => console.log('ok: ' + msg + ' (at ' + (Date.now() - began) + ' ms)');
const fail = (msg) => { failed++; console.log('FAIL: ' + msg); };
const check = (cond, msg, detail) => (cond ? ok(msg) : fail(msg + (detail ? ': ' + detail : '')));

/** until polls fn (async, returning a truthy value when done) every 250 ms for up to ms; it returns the last value. */
async function until(ms, fn) {
  const end = Date.now() + ms;
  let v;
  for (;;) {
    v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
  viewport: { width: 1400, height: 900 },
});
const origin = new URL(opt.url).origin;
const outside = [];
const pageErrors = [];
await context.route('**/*', (route) => {
  const u = route.request().url();
  if (u.startsWith(origin + '/') || u.startsWith('data:')) return route.continue();
  outside.push(u);
  return route.abort();
});
const page = context.pages()[0] || (await context.newPage());
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('console', (m) => m.type() === 'error' && !/Failed to load resource/.test(m.text()) && pageErrors.push(m.text()));

try {
  if (mode === 'live') await live();
  else if (mode === 'scale') await scale();
  else fail('unknown mode ' + mode);
  check(outside.length === 0, 'the page loads nothing from outside the process', outside.join(', '));
  check(pageErrors.length === 0, 'no script error', pageErrors.join(' | '));
} catch (e) {
  fail('the check stopped: ' + (e.stack || e));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(failed ? failed + ' checks failed' : 'all checks passed');
process.exit(failed ? 1 : 0);

/** screenshot saves the full page in the light color scheme and the open card in the dark one. */
async function screenshot(name, card) {
  const path = join(opt.shots, name + '.png');
  await page.screenshot({ path, fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForTimeout(300); // let the charts redraw in the new colors
  const cardPath = join(opt.shots, name + '-card-dark.png');
  await card.screenshot({ path: cardPath });
  await page.emulateMedia({ colorScheme: 'light' });
  console.log('screenshots: ' + path + ', ' + cardPath);
}

/** rateShown waits until the card's summary shows a records/s rate, which takes two polls; it returns the text. */
function rateShown(card) {
  return until(8000, async () => {
    const t = await card.locator('summary [data-fact=in] .rate').textContent();
    return /\d/.test(t) && t;
  });
}

/** counts reads the record counters a pipeline's card shows. */
function shownCounts(card) {
  return card.evaluate((el) => Object.fromEntries([...el.querySelectorAll('[data-count]')]
    .map((c) => [c.dataset.count, Number(c.textContent.replace(/[^0-9]/g, ''))])));
}

/** truth fetches the pipeline's counters from /metrics, or from the API. */
async function truth(name) {
  if (opt.metrics) {
    const text = await (await fetch(origin + '/metrics')).text();
    const get = (m) => {
      const re = new RegExp('^sluice_pipeline_records_' + m + '_total\\{[^}]*pipeline="' + name + '"[^}]*\\} (\\S+)$', 'm');
      const hit = text.match(re);
      return hit ? Number(hit[1]) : undefined;
    };
    return { in: get('in'), out: get('out'), filtered: get('filtered'), late: get('late'), dead: get('dead') };
  }
  const doc = await (await fetch(origin + '/api/v1/pipelines')).json();
  const p = doc.pipelines.find((x) => x.name === name);
  return p ? { in: p.counts.in, out: p.counts.out, filtered: p.counts.filtered, late: p.counts.late, dead: p.counts.dead } : {};
}

async function live() {
  const name = opt.pipeline;
  await page.goto(opt.url);
  const card = page.locator(`article[data-pipeline="${name}"]`);
  await card.waitFor({ timeout: 15000 });
  check((await card.locator('summary .name').textContent()) === name, 'the pipeline ' + name + ' is shown');
  if (!(await card.locator('details').first().evaluate((d) => d.open))) await card.locator('summary').first().click();

  // The counters shown equal the server's while they hold still.
  const keys = ['in', 'out', 'filtered', 'late', 'dead'];
  let last = {};
  const same = await until(20000, async () => {
    const before = await truth(name);
    const shown = await shownCounts(card);
    const after = await truth(name);
    last = { before, shown, after };
    return keys.every((k) => before[k] !== undefined && before[k] === after[k] && shown[k] === before[k]);
  });
  check(same, 'the counts shown match ' + (opt.metrics ? '/metrics' : 'the API'), JSON.stringify(last));
  check(last.shown && last.shown.in > 0, 'records came in', JSON.stringify(last.shown));

  // An emitted window row is in the latest results.
  const want = JSON.parse(opt.row);
  let rows = [];
  const found = await until(20000, async () => {
    rows = await card.locator('table.results').evaluateAll((ts) => ts.flatMap((t) => {
      const cols = [...t.querySelectorAll('thead th')].map((th) => th.textContent);
      return [...t.querySelectorAll('tbody tr')].map((tr) => Object.fromEntries(
        [...tr.children].map((td, i) => [cols[i], td.textContent])));
    }));
    return rows.some((r) => Object.entries(want).every(([k, v]) => r[k] !== undefined &&
      (typeof v === 'number' ? Number(r[k].replace(/,/g, '')) === v : r[k] === String(v))));
  });
  check(found, 'the window row ' + opt.row + ' is in the latest results', JSON.stringify(rows));

  // The partition holding the watermark back is marked, in the window panel and in the partitions table.
  const note = card.locator(`[data-holding="${opt.holding}"]`);
  check(await until(15000, async () => (await note.count()) === 1), 'the holding partition ' + opt.holding + ' is marked');
  const mark = card.locator('summary [data-fact=holding]');
  const markText = (await mark.count()) ? (await mark.getAttribute('title')) + ' / ' + (await mark.textContent()) : '';
  check(markText.startsWith(opt.holding + ' ') && markText.includes(opt.holding.slice(opt.holding.lastIndexOf('/') + 1)),
    'the summary line names the holding partition', markText);
  await card.locator('details.parts > summary').first().click();
  const holdRow = card.locator('details.parts tr.holding-row');
  const rowText = await until(5000, async () => (await holdRow.count()) === 1 && holdRow.textContent());
  check(rowText && rowText.includes(opt.holding) && rowText.includes('holding'), 'the partitions table marks the holding partition', rowText);

  // Rates come from two polls in a row.
  const rate = await rateShown(card);
  check(rate, 'a records/s rate is shown', rate);
  await screenshot('live', card);
}

async function scale() {
  const n = Number(opt.pipelines), parts = Number(opt.partitions);
  const start = Date.now();
  await page.goto(opt.url);
  await until(20000, async () => (await page.locator('article.pipeline').count()) === n);
  const took = Date.now() - start;
  check(await page.locator('article.pipeline').count() === n, n + ' pipelines rendered in ' + took + ' ms');
  check(took < 10000, 'the page renders ' + n + ' pipelines within 10 s', took + ' ms');
  const elements = () => page.evaluate(() => document.getElementsByTagName('*').length);
  const closed = await elements();
  console.log('elements with every card closed: ' + closed);
  check(closed < 40 * n, 'the DOM stays small with ' + n + ' closed cards', closed + ' elements');
  const openCards = await page.locator('article.pipeline > details[open]').count();
  check(openCards === 0, 'with ' + n + ' pipelines the cards start closed', openCards + ' open');

  // Filters.
  const visible = () => page.locator('article.pipeline:not([hidden])').count();
  await page.fill('#filter', 'pipeline_1');
  check(await until(3000, async () => (await visible()) === 10), 'the name filter leaves pipeline_10 to pipeline_19', String(await visible()));
  await page.fill('#filter', '');
  await page.check('#problems');
  const problems = await until(3000, async () => (await visible()) === 1 && page.locator('article.pipeline:not([hidden])').getAttribute('data-pipeline'));
  check(problems === 'pipeline_00', '"problems only" leaves the failed pipeline', String(problems));
  await page.uncheck('#problems');

  // Every card open at once: each kind of state renders without a script error.
  let t0 = Date.now();
  await page.click('#expand');
  const bodies = page.locator('article.pipeline .body:not(:empty)');
  check(await until(10000, async () => (await bodies.count()) === n), 'Expand all opens every card', String(await bodies.count()));
  console.log('every card open after ' + (Date.now() - t0) + ' ms');
  console.log('elements with every card open: ' + (await elements()));
  const failedCard = page.locator('article[data-pipeline=pipeline_00]');
  check(((await failedCard.locator('[role=alert]').textContent()) || '').includes('no space left on device'), 'a failed pipeline shows its error');
  check((await failedCard.locator('summary [data-state]').textContent()) === 'failed', 'a failed pipeline has the failed badge');
  check(await page.locator('article[data-pipeline=pipeline_02] tr.failed-row').count() === 1, 'the checkpoint history marks the failed checkpoint');
  check(await page.locator('article[data-pipeline=pipeline_04] [data-holding]').count() === 0, 'no holding partition is marked when none holds the watermark back');
  t0 = Date.now();
  await page.click('#collapse');
  check(await until(5000, async () => (await bodies.count()) === 0), 'Collapse all closes every card');
  console.log('every card closed after ' + (Date.now() - t0) + ' ms');

  const card = page.locator('article.pipeline').nth(1);
  await card.locator('summary').first().click();
  await card.locator('canvas.strip').first().waitFor({ timeout: 5000 });
  const open = await elements();
  console.log('elements with one card of ' + parts + ' partitions open: ' + open);
  check(open - closed < 600, 'one open card with ' + parts + ' partitions adds few elements', (open - closed) + ' more');
  check(await card.locator('[data-holding]').count() >= 1, 'the holding partition is marked at ' + parts + ' partitions');
  await card.locator('details.parts > summary').first().click();
  // The table fills on the toggle event, which comes after the click.
  const tableRows = await until(5000, () => card.locator('details.parts tbody tr').count());
  check(tableRows > 0 && tableRows <= 16, 'the partitions table shows the most behind first, not all ' + parts, tableRows + ' rows');
  check((await card.locator('details.parts tbody tr').first().getAttribute('class')) === 'holding-row', 'the holding partition comes first in the table');
  check(await rateShown(card), 'a records/s rate is shown');
  await screenshot('scale', card);

  // The page says so when the API fails.
  await fetch(opt['fail-url'], { method: 'POST' });
  const down = await until(10000, async () => (await page.locator('#connection').textContent()) === 'disconnected');
  check(down, 'the page shows "disconnected" when the API fails');
}
