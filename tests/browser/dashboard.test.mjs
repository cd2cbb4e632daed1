// The dashboard in a real browser: Debian's chromium, headless, driven by
// playwright-core (never a downloaded browser), against a running stack.
//
//   PORT=18080 VAR_DIR=var/test-18080 node tests/browser/dashboard.test.mjs
//
// Environment: PORT (nginx), VAR_DIR (the stack's runtime dir: pid files),
// BUILD_DIR (where bin/bot is; default build/), CHROMIUM (default
// /usr/bin/chromium), SCREENSHOT (default $VAR_DIR/dashboard.png),
// BOT_SECONDS (default 8), TEST_TIMEOUT_S (default 120), PROFILE_DIR (a
// fresh chromium profile dir; default a new temp dir).
//
// It starts the bot for a few seconds, opens the page and checks: no console
// errors, the state reaches "live", non-zero counters, at least one match in
// the list, points drawn on the canvas (pixels and the page's draw counters),
// the top-rated drivers, that the page sent nothing but its hello (a viewer
// asking for batches) and got its matches in batches; takes a
// screenshot; then kills comm-svc (its supervisor restarts it) and checks the
// page leaves "live" and comes back to "live" by itself, with fresh stats;
// then the same with nginx stopped and started again (scripts/stack.sh).
// Every process it starts is stopped, also on failure and on timeout.
// Exit code 0 when every check passed.
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const abs = (p) => (path.isAbsolute(p) ? p : path.join(ROOT, p));
const PORT = Number(process.env.PORT || 18080);
const VAR_DIR = abs(process.env.VAR_DIR || 'var');
const BUILD_DIR = abs(process.env.BUILD_DIR || 'build');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT = abs(process.env.SCREENSHOT || path.join(VAR_DIR, 'dashboard.png'));
const BOT_SECONDS = Number(process.env.BOT_SECONDS || 8);
const TEST_TIMEOUT_S = Number(process.env.TEST_TIMEOUT_S || 120);
// how long the page must stay live on one websocket, with traffic flowing
const STAY_S = Number(process.env.STAY_S || 75);
const BASE = `http://127.0.0.1:${PORT}`;

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let passed = 0, failed = 0;
const log = (...a) => console.log('dashboard-test:', ...a);
function check(name, ok, detail = '') {
  if (ok) { passed++; log(`ok   ${name}${detail ? ' — ' + detail : ''}`); }
  else { failed++; log(`FAIL ${name}${detail ? ' — ' + detail : ''}`); }
  return ok;
}

// ------------------------------------------------------------ cleanup
let bot = null, context = null, profileDir = null, cleaned = false, nginxDown = false;
function stack(cmd) {
  execFileSync('bash', [path.join(ROOT, 'scripts', 'stack.sh'), cmd],
    { env: { ...process.env, PORT: String(PORT), VAR_DIR }, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30000 });
}
function stopBot() {
  if (bot && bot.exitCode === null && bot.signalCode === null) {
    try { bot.kill('SIGTERM'); } catch { /* gone */ }
    const b = bot;
    setTimeout(() => { if (b.exitCode === null && b.signalCode === null) { try { b.kill('SIGKILL'); } catch { } } }, 3000).unref();
  }
}
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  stopBot();
  if (nginxDown) { try { stack('nginx-up'); nginxDown = false; } catch (e) { log('nginx-up failed', e.message); } }
  if (context) {
    await Promise.race([context.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
    context = null;
  }
  // the bot is gone before we return, so no traffic of ours reaches later tests
  if (bot && bot.exitCode === null && bot.signalCode === null) {
    await Promise.race([bot.done, sleep(5000)]);
    if (bot.exitCode === null && bot.signalCode === null) { try { bot.kill('SIGKILL'); } catch { } await Promise.race([bot.done, sleep(2000)]); }
  }
  if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
}
function cleanupSync() {
  // last resort on exit: the bot dies with us; playwright kills its browser
  // on exit by itself
  stopBot();
  if (nginxDown) { try { stack('nginx-up'); } catch { } }
  if (profileDir) { try { fs.rmSync(profileDir, { recursive: true, force: true }); } catch { } }
}
process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => { log(`${sig}: stopping`); await cleanup(); process.exit(130); });
}
const hardStop = setTimeout(async () => {
  log(`FAIL the whole test took over ${TEST_TIMEOUT_S} s`);
  await cleanup();
  process.exit(1);
}, TEST_TIMEOUT_S * 1000);
hardStop.unref();

// ------------------------------------------------------------ helpers

function startBot(seconds, clientId) {
  const bin = path.join(BUILD_DIR, 'bin', 'bot');
  // more riders than drivers: some riders always wait, so the map has
  // points to draw whenever the checks look (a balanced bot can have every
  // request paired at each tick)
  const p = spawn(bin, ['--duration', String(seconds), '--url', BASE, '--progress-s', '0',
    '--riders', '60', '--drivers', '40',
    '--client-id', clientId], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
  p.done = new Promise((r) => p.on('exit', (code, sig) => r({ code, sig, err })));
  return p;
}

function commSvcChild() {
  const pidFile = path.join(VAR_DIR, 'run', 'comm-svc.0.pid');
  const sup = fs.readFileSync(pidFile, 'utf8').trim();
  try {
    return execFileSync('pgrep', ['-P', sup], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean);
  } catch { return []; }
}

// counts pixels of the riders' and drivers' colours on the map canvas
async function canvasPixels(page) {
  return page.evaluate(() => {
    const c = document.getElementById('map');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let rider = 0, driver = 0;
    for (let i = 0; i < d.length; i += 4) {
      const r = d[i], g = d[i + 1], b = d[i + 2];
      if (b > 180 && r < 120 && g > 140) rider++;          // #38bdf8
      else if (r > 200 && g > 150 && b < 100) driver++;     // #fbbf24
    }
    return { rider, driver, w: c.width, h: c.height };
  });
}

const counter = (page, id) => page.$eval(`#${id}`, (e) => e.textContent.trim());
const nonZero = (s) => { const v = parseFloat(String(s).replace(/,/g, '')); return Number.isFinite(v) && v > 0; };

// ------------------------------------------------------------ the test
async function main() {
  log(`stack at ${BASE}, VAR_DIR ${VAR_DIR}`);
  bot = startBot(BOT_SECONDS + STAY_S + 10, 'dash-test-bot');

  // a fresh profile; the caller may name it (to find the browser afterwards)
  profileDir = process.env.PROFILE_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'dash-chromium-'));
  fs.mkdirSync(profileDir, { recursive: true });
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM, headless: true, args: FLAGS,
    viewport: { width: 1400, height: 860 }, timeout: 30000,
  });
  const page = context.pages()[0] || await context.newPage();

  const consoleErrors = [];
  const wsErrors = [];
  let phase = 'load';
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    // while comm-svc restarts, chromium itself logs the failed websocket
    // handshakes: expected then, and only then
    if (phase === 'restart' && /WebSocket connection to .* failed/.test(text)) { wsErrors.push(text); return; }
    // with nginx down, the top-drivers fetch fails as well
    if (phase === 'nginx' && /WebSocket connection to .* failed|Failed to load resource/.test(text)) { wsErrors.push(text); return; }
    consoleErrors.push(`[${phase}] ${text}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`[${phase}] page error: ${e.message}`));
  const sent = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))));

  const resp = await page.goto(BASE + '/', { waitUntil: 'load', timeout: 15000 });
  check('page loads', resp && resp.status() === 200, `status ${resp && resp.status()}`);
  check('page title', (await page.title()).includes('ride matcher'));

  await page.waitForFunction(() => document.body.dataset.state === 'live', null, { timeout: 15000 })
    .then(() => check('reaches "live"', true), () => check('reaches "live"', false, 'state stayed ' + 'not live'));
  check('connection text says live', /^live/.test(await counter(page, 'conn-text')), await counter(page, 'conn-text'));

  // traffic: counters, list, map
  const lively = await page.waitForFunction(() => {
    const d = window.dashboard;
    const v = (id) => parseFloat(document.getElementById(id).textContent.replace(/,/g, '')) || 0;
    return d && d.rowsShown > 0 && d.pointsDrawn > 0 && v('c-requests') > 0 && v('c-matches') > 0 && d.topRows > 0;
  }, null, { timeout: 20000, polling: 200 }).then(() => true, () => false);
  check('traffic shows up within 20 s', lively);

  const vals = {};
  for (const id of ['c-requests', 'c-matches', 'c-riders', 'c-drivers', 'c-expired', 'c-tick', 'c-p50', 'c-p99']) {
    vals[id] = await counter(page, id);
  }
  log('counters', JSON.stringify(vals));
  check('requests/s > 0', nonZero(vals['c-requests']), vals['c-requests']);
  check('matches/s > 0', nonZero(vals['c-matches']), vals['c-matches']);
  check('tick time shown', /ms|s$/.test(vals['c-tick']), vals['c-tick']);
  check('latency p50/p99 shown', nonZero(vals['c-p50']) && nonZero(vals['c-p99']), `${vals['c-p50']} / ${vals['c-p99']}`);

  const rows = await page.$$eval('#matches tr:not([hidden])', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  check('at least one match listed', rows.length >= 1, rows[0] ? rows[0].join(' | ') : 'none');
  check('match row has rider, driver, car, distance, fare in taka',
    rows.length > 0 && rows[0][0] && rows[0][1] && /^[A-Z]{3}-\d\d-\d{4}$/.test(rows[0][2]) && /^Tk\s\d+\.\d\d$/.test(rows[0][4]),
    rows[0] ? JSON.stringify(rows[0]) : '');
  const allRows = await page.$$eval('#matches tr', (trs) => trs.length);
  check('the list is capped', allRows <= 20, `${allRows} rows`);

  const top = await page.$$eval('#top tr:not([hidden])', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  check('top-rated drivers listed', top.length >= 1 && top.length <= 10, top[0] ? top[0].join(' | ') : 'none');

  const dbg = await page.evaluate(() => ({ ...window.dashboard }));
  check('points drawn (draw counter)', dbg.pointsDrawn > 0, `pointsDrawn ${dbg.pointsDrawn}, mapDraws ${dbg.mapDraws}, frames ${dbg.frames}`);
  const px = await canvasPixels(page);
  check('points drawn (canvas pixels)', px.rider + px.driver > 20, `rider px ${px.rider}, driver px ${px.driver} on ${px.w}x${px.h}`);
  // at most one draw per animation frame
  check('no more map draws than frames', dbg.mapDraws <= dbg.frames, `${dbg.mapDraws} draws, ${dbg.frames} frames`);
  const lines = await page.waitForFunction(() => window.dashboard.linesDrawn > 0, null, { timeout: 5000, polling: 'raf' })
    .then(() => true, () => false);
  check('match lines drawn', lines);

  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT });
  log(`screenshot: ${SCREENSHOT}`);

  check('no console errors while loading and live', consoleErrors.length === 0, consoleErrors.join(' / '));

  // a viewer that only listens keeps its one websocket, and the fares keep
  // coming, for as long as a person watches (issue: dropped every ~30 s)
  phase = 'stay';
  const s0 = await page.evaluate(() => ({ ...window.dashboard }));
  const samples = [];
  for (let t = 0; t < STAY_S; t += 15) {
    await sleep(Math.min(15, STAY_S - t) * 1000);
    samples.push(await page.evaluate(() => ({ state: document.body.dataset.state, connects: window.dashboard.connects, matches: window.dashboard.matches, stats: window.dashboard.stats })));
  }
  const s1 = samples[samples.length - 1];
  log('stay', JSON.stringify({ before: { connects: s0.connects, matches: s0.matches, stats: s0.stats }, samples }));
  check(`stays live for ${STAY_S} s`, samples.every((x) => x.state === 'live'), samples.map((x) => x.state).join(','));
  check(`no reconnect in ${STAY_S} s`, s1.connects === s0.connects, `${s0.connects} -> ${s1.connects} connects`);
  check('matches and stats keep arriving in every 15 s window',
    samples.every((x, i) => x.matches > (i ? samples[i - 1].matches : s0.matches) && x.stats > (i ? samples[i - 1].stats : s0.stats)),
    samples.map((x) => `${x.matches}/${x.stats}`).join(' '));
  check('no console errors while staying live', consoleErrors.length === 0, consoleErrors.join(' / '));

  // comm-svc dies; its supervisor restarts it; the page comes back by itself
  phase = 'restart';
  const before = commSvcChild();
  check('comm-svc child found', before.length === 1, `supervisor children: ${before.join(',') || 'none'}`);
  const statsBefore = await page.evaluate(() => window.dashboard.stats);
  for (const pid of before) { try { process.kill(Number(pid), 'SIGKILL'); } catch { } }
  const left = await page.waitForFunction(() => document.body.dataset.state !== 'live', null, { timeout: 10000, polling: 50 })
    .then(() => true, () => false);
  check('leaves "live" when comm-svc dies', left, await counter(page, 'conn-text'));
  const back = await page.waitForFunction(() => document.body.dataset.state === 'live', null, { timeout: 30000, polling: 100 })
    .then(() => true, () => false);
  check('back to "live" after comm-svc restarts', back, await counter(page, 'conn-text'));
  const after = commSvcChild();
  check('comm-svc was restarted (new pid)', after.length === 1 && after[0] !== before[0], `${before} -> ${after}`);
  const fresh = await page.waitForFunction((n) => window.dashboard.stats > n + 1, statsBefore, { timeout: 10000 })
    .then(() => true, () => false);
  check('stats flow again after the restart', fresh);

  // nginx stops and starts again: the same
  phase = 'nginx';
  const statsBefore2 = await page.evaluate(() => window.dashboard.stats);
  nginxDown = true;
  stack('nginx-down');
  const left2 = await page.waitForFunction(() => document.body.dataset.state !== 'live', null, { timeout: 10000, polling: 50 })
    .then(() => true, () => false);
  check('leaves "live" when nginx stops', left2, await counter(page, 'conn-text'));
  await sleep(1500);
  stack('nginx-up');
  nginxDown = false;
  const back2 = await page.waitForFunction(() => document.body.dataset.state === 'live', null, { timeout: 30000, polling: 100 })
    .then(() => true, () => false);
  check('back to "live" after nginx starts again', back2, await counter(page, 'conn-text'));
  const fresh2 = await page.waitForFunction((n) => window.dashboard.stats > n + 1, statsBefore2, { timeout: 10000 })
    .then(() => true, () => false);
  check('stats flow again after nginx is back', fresh2);
  phase = 'after';
  await sleep(500);

  const d2 = await page.evaluate(() => ({ ...window.dashboard }));
  log('page counters', JSON.stringify({ connects: d2.connects, welcomes: d2.welcomes, stats: d2.stats, matches: d2.matches, frames: d2.frames, mapDraws: d2.mapDraws, reconnectDelays: d2.reconnectDelays }));
  check('reconnected with a fresh hello each time', d2.welcomes >= 3 && d2.connects >= 3, `${d2.connects} connects, ${d2.welcomes} welcomes`);
  // a viewer asking for batches (comm-svc/README.md): matches come as "matches" frames
  const hello = JSON.stringify({ type: 'hello', role: 'viewer', batch: true });
  check('matches arrived in batches', d2.batches >= 1 && d2.matches >= 1, `${d2.batches} batches, ${d2.matches} matches`);
  check('the page sent nothing but its hello', sent.length >= 3 && sent.every((s) => s === hello), `${sent.length} frames: ${[...new Set(sent)].join(' ')}`);
  check('no other console errors', consoleErrors.length === 0, consoleErrors.join(' / '));
  log(`${wsErrors.length} expected connection errors during the restarts`);

  const b = await Promise.race([bot.done, sleep(1)]);
  if (b) check('bot ran cleanly', b.code === 0, `exit ${b.code} ${b.sig || ''} ${b.err.slice(-300)}`);
}

let code = 1;
try {
  await main();
  code = failed === 0 && passed > 0 ? 0 : 1;
} catch (e) {
  log('FAIL exception:', e && e.stack ? e.stack : e);
  failed++;
} finally {
  await cleanup();
}
console.log(`dashboard: ${passed} passed, ${failed} failed`);
process.exit(code);
