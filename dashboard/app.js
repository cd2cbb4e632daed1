// The live dashboard: a websocket viewer of comm-svc (/communication).
//
// It says hello as a viewer asking for batches and then only listens: `stats`
// once per matcher tick (waiting riders and drivers, rates, totals, latency)
// and every match, as `matches` frames ({"type":"matches","items":[...]}:
// what comm-svc had queued for this socket, in order; comm-svc/README.md).
// Everything it keeps is bounded (fixed typed arrays and rings), the map is
// drawn at most once per animation frame and only when something changed,
// and every text from the server goes into the page through textContent.

const MAX_POINTS = 4000;        // per kind, drawn on the map (stats carry at most 2000)
const MAX_LINES = 1024;         // match lines alive at once (a ring: newest win)
const LINE_MS = 2500;           // how long a match line takes to fade out
const MAX_ROWS = 20;            // recent matches listed
const ROWS_EVERY_MS = 250;      // the list is re-rendered at most this often
const TOP_LIMIT = 10;
const TOP_EVERY_MS = 5000;      // top-rated drivers refresh
const TOP_TIMEOUT_MS = 4000;
const SPARK_N = 120;            // one sample a second: two minutes
const STALE_MS = 5000;          // live but nothing heard: shown as stale
const DEAD_MS = 30000;          // nothing heard for this long: reconnect
const HELLO_TIMEOUT_MS = 10000; // connect + welcome within this, or retry
const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 10000;
const SHRINK_AFTER_MS = 3000;   // the map zooms in only after the data stayed small this long

const COLORS = {
  bg: '#0a0e16', grid: '#1a2334', axis: '#5f6b82',
  rider: '#38bdf8', driver: '#fbbf24', match: '#4ade80',
  req: '#38bdf8', matches: '#4ade80',
};

const $ = (id) => document.getElementById(id);
const now = () => performance.now();

// ------------------------------------------------------------ state
const riders = new Float32Array(MAX_POINTS * 2);
const drivers = new Float32Array(MAX_POINTS * 2);
let nRiders = 0, nDrivers = 0;
let waitingRiders = 0, waitingDrivers = 0;

// match lines: [dx, dy, rx, ry] and arrival time, in a ring
const lineXY = new Float64Array(MAX_LINES * 4);
const lineT = new Float64Array(MAX_LINES);
let lineHead = 0, lineCount = 0;

// recent matches: a ring of reused records
const rowRing = Array.from({ length: MAX_ROWS }, () => ({ rider: '', driver: '', car: '', dist: 0, fare: 0 }));
let rowHead = 0, rowCount = 0, rowsNew = 0, rowsDirty = false, rowsRenderedAt = 0;

// sparkline of requests/s and matches/s
const sparkReq = new Float32Array(SPARK_N);
const sparkMatch = new Float32Array(SPARK_N);
let sparkHead = 0, sparkCount = 0, sparkLastTs = 0;

let stats = null;               // the last stats message
let rates = { requests: NaN, matches: NaN, expired: NaN };

// Rates from the totals of the last few stats (a window of about 2 s): steady
// at any tick, and the same numbers the matcher counts. Until two samples
// are there (or after the totals went back, a restarted matcher) the
// matcher's own rates are shown.
const RATE_N = 64;
const rateTs = new Float64Array(RATE_N), rateReq = new Float64Array(RATE_N),
  rateMatch = new Float64Array(RATE_N), rateExp = new Float64Array(RATE_N);
let rateHead = 0, rateCount = 0;
let statsDirty = false, mapDirty = true, sparkDirty = true;

// the map's extent: target (with hysteresis) and the current, animated one
let target = null;              // {x0, y0, x1, y1}
let view = null;
let smallSince = 0;

// for people and for the browser test
const debug = {
  state: 'connecting', connects: 0, welcomes: 0, gaps: 0, messages: 0, stats: 0, matches: 0, batches: 0,
  frames: 0, mapDraws: 0, pointsDrawn: 0, linesDrawn: 0, rowsShown: 0, topRows: 0,
  reconnectDelays: [],
};
window.dashboard = debug;

// ------------------------------------------------------------ helpers
const finite = (v) => typeof v === 'number' && Number.isFinite(v);
const str = (v, max = 64) => (typeof v === 'string' ? v.slice(0, max) : '');
const nf0 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function fmtRate(v) {
  if (!finite(v)) return '–';
  if (v >= 10000) return (v / 1000).toFixed(1) + 'k';
  if (v >= 100) return nf0.format(v);
  return v.toFixed(1);
}
function fmtMs(v) {
  if (!finite(v)) return '–';
  if (v >= 10000) return (v / 1000).toFixed(1) + ' s';
  if (v >= 1000) return (v / 1000).toFixed(2) + ' s';
  if (v >= 100) return Math.round(v) + ' ms';
  if (v >= 10) return v.toFixed(1) + ' ms';
  return v.toFixed(2) + ' ms';
}
function fmtCount(v) { return finite(v) ? nf0.format(v) : '–'; }
function fmtNum(v) {
  if (!finite(v)) return '–';
  const a = Math.abs(v);
  return a >= 1000 ? nf0.format(v) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}
function setText(el, text) { if (el.textContent !== text) el.textContent = text; }

// ------------------------------------------------------------ connection
const wsUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/communication';
let sock = null;
let attempt = 0;
let retryTimer = 0, retryAt = 0;
let openedAt = 0, liveSince = 0, lastMsgAt = 0;

const connEl = $('conn-text');

function setState(s) {
  debug.state = s;
  if (document.body.dataset.state !== s) document.body.dataset.state = s;
  renderConn();
}

function renderConn() {
  const t = now();
  let text;
  document.body.classList.toggle('stale', debug.state === 'live' && t - lastMsgAt > STALE_MS);
  if (debug.state === 'live') {
    const quiet = t - lastMsgAt;
    text = quiet > STALE_MS ? `live · nothing for ${Math.round(quiet / 1000)} s` : 'live';
  } else if (debug.state === 'connecting') {
    text = 'connecting…';
  } else if (retryTimer) {
    text = `reconnecting in ${Math.max(0, (retryAt - t) / 1000).toFixed(1)} s (try ${attempt})`;
  } else {
    text = `reconnecting… (try ${attempt})`;
  }
  setText(connEl, text);
}

function connect() {
  retryTimer = 0;
  let s;
  try {
    s = new WebSocket(wsUrl);
  } catch (e) {
    console.warn('dashboard: cannot open websocket', e);
    scheduleReconnect();
    return;
  }
  sock = s;
  debug.connects++;
  openedAt = now();
  liveSince = 0;
  renderConn();
  s.onopen = () => {
    if (s !== sock) return;
    // the only thing a viewer ever sends
    s.send(JSON.stringify({ type: 'hello', role: 'viewer', batch: true }));
  };
  s.onmessage = (ev) => {
    if (s !== sock) return;
    lastMsgAt = now();
    onMessage(ev.data);
  };
  s.onerror = () => { /* a close event follows */ };
  s.onclose = () => {
    if (s !== sock) return;
    drop();
    scheduleReconnect();
  };
}

// Forgets the current socket: no handler of it runs again.
function drop() {
  const s = sock;
  sock = null;
  if (!s) return;
  s.onopen = s.onmessage = s.onerror = s.onclose = null;
  if (s.readyState === WebSocket.CONNECTING || s.readyState === WebSocket.OPEN) {
    try { s.close(); } catch (e) { /* already closing */ }
  }
}

function scheduleReconnect() {
  // a connection that was live for a while starts the backoff over
  if (liveSince && now() - liveSince > 10000) attempt = 0;
  liveSince = 0;
  attempt++;
  // exponential backoff with "equal jitter": half fixed, half random
  const exp = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt - 1, 16));
  const delay = exp / 2 + Math.random() * (exp / 2);
  debug.reconnectDelays.push(Math.round(delay));
  if (debug.reconnectDelays.length > 20) debug.reconnectDelays.shift();
  if (retryTimer) clearTimeout(retryTimer);
  retryAt = now() + delay;
  retryTimer = setTimeout(connect, delay);
  setState('reconnecting');
}

function reconnectNow() {
  if (!retryTimer) return;
  clearTimeout(retryTimer);
  retryTimer = 0;
  connect();
}

// One timer for the whole page: watchdog and the countdown text.
setInterval(() => {
  const t = now();
  if (sock) {
    if (!liveSince && t - openedAt > HELLO_TIMEOUT_MS) {
      console.warn('dashboard: no welcome in time, retrying');
      drop(); scheduleReconnect();
    } else if (liveSince && t - lastMsgAt > DEAD_MS) {
      console.warn('dashboard: nothing heard for a long time, reconnecting');
      drop(); scheduleReconnect();
    }
  }
  renderConn();
}, 500);

window.addEventListener('online', reconnectNow);
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) { reconnectNow(); mapDirty = sparkDirty = true; schedule(); }
});

// ------------------------------------------------------------ messages
function onMessage(data) {
  if (typeof data !== 'string') return;
  let m;
  try { m = JSON.parse(data); } catch (e) { return; }
  if (!m || typeof m !== 'object') return;
  debug.messages++;
  switch (m.type) {
    case 'stats': onStats(m); break;
    case 'match': onMatch(m); break;
    case 'matches':
      // a batch: its items are match messages, oldest first
      debug.batches++;
      if (Array.isArray(m.items)) {
        for (const it of m.items) if (it && typeof it === 'object' && it.type === 'match') onMatch(it);
      }
      break;
    case 'welcome':
      debug.welcomes++;
      // a resume the server could not fully serve (it keeps ~60 s of matches):
      // the map and counters come from stats, so only note the gap
      if (m.recovered === false) {
        debug.gaps++;
        console.warn('dashboard: some matches since the last connection are no longer kept');
      }
      liveSince = now();
      setState('live');
      break;
    case 'error':
      console.warn('dashboard: server says', str(m.error, 200));
      break;
    default: break;
  }
}

function copyPoints(list, buf) {
  if (!Array.isArray(list)) return 0;
  const n = Math.min(list.length, MAX_POINTS);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const p = list[i];
    if (!Array.isArray(p) || !finite(p[0]) || !finite(p[1])) continue;
    buf[2 * k] = p[0];
    buf[2 * k + 1] = p[1];
    k++;
  }
  return k;
}

function onStats(m) {
  debug.stats++;
  stats = m;
  nRiders = copyPoints(m.riders, riders);
  nDrivers = copyPoints(m.drivers, drivers);
  const w = m.waiting || {};
  waitingRiders = finite(w.riders) ? w.riders : nRiders;
  waitingDrivers = finite(w.drivers) ? w.drivers : nDrivers;
  const ts = finite(m.ts_ms) ? m.ts_ms : Date.now();
  updateRates(m, ts);
  if (ts - sparkLastTs >= 1000 || ts < sparkLastTs) {
    sparkLastTs = ts;
    sparkReq[sparkHead] = finite(rates.requests) ? rates.requests : 0;
    sparkMatch[sparkHead] = finite(rates.matches) ? rates.matches : 0;
    sparkHead = (sparkHead + 1) % SPARK_N;
    if (sparkCount < SPARK_N) sparkCount++;
    sparkDirty = true;
  }
  updateExtent();
  statsDirty = mapDirty = true;
  schedule();
}

function updateRates(m, ts) {
  const r = m.rates || {}, t = m.totals || {};
  rates.requests = r.requests_per_s;
  rates.matches = r.matches_per_s;
  rates.expired = r.expired_per_s;
  if (!finite(t.requests) || !finite(t.matched) || !finite(t.expired)) return;
  const last = (rateHead - 1 + RATE_N) % RATE_N;
  if (rateCount && (ts <= rateTs[last] || ts - rateTs[last] > 10000 || t.requests < rateReq[last] ||
      t.matched < rateMatch[last] || t.expired < rateExp[last])) {
    rateCount = 0;                            // a gap, or a restarted matcher: start over
  }
  rateTs[rateHead] = ts; rateReq[rateHead] = t.requests;
  rateMatch[rateHead] = t.matched; rateExp[rateHead] = t.expired;
  rateHead = (rateHead + 1) % RATE_N;
  if (rateCount < RATE_N) rateCount++;
  // the oldest sample at most ~2 s back (but at least the previous one)
  let o = -1;
  for (let k = 1; k < rateCount; k++) {
    const i = (rateHead - 1 - k + RATE_N) % RATE_N;
    if (o >= 0 && ts - rateTs[i] > 2100) break;
    o = i;
  }
  if (o < 0) return;
  const dt = (ts - rateTs[o]) / 1000;
  const cur = (rateHead - 1 + RATE_N) % RATE_N;
  rates.requests = (rateReq[cur] - rateReq[o]) / dt;
  rates.matches = (rateMatch[cur] - rateMatch[o]) / dt;
  rates.expired = (rateExp[cur] - rateExp[o]) / dt;
}

function onMatch(m) {
  debug.matches++;
  const rd = m.rider || {}, dr = m.driver || {};
  const rl = rd.location || {}, dl = dr.location || {};
  if (finite(rl.x) && finite(rl.y) && finite(dl.x) && finite(dl.y)) {
    const i = lineHead;
    lineXY[4 * i] = dl.x; lineXY[4 * i + 1] = dl.y;
    lineXY[4 * i + 2] = rl.x; lineXY[4 * i + 3] = rl.y;
    lineT[i] = now();
    lineHead = (lineHead + 1) % MAX_LINES;
    if (lineCount < MAX_LINES) lineCount++;
    mapDirty = true;
  }
  const row = rowRing[rowHead];
  row.rider = str(rd.name);
  row.driver = str(dr.name);
  row.car = str(dr.car_number, 32);
  row.dist = finite(m.distance) ? m.distance : NaN;
  row.fare = finite(m.fare) ? m.fare : NaN;
  rowHead = (rowHead + 1) % MAX_ROWS;
  if (rowCount < MAX_ROWS) rowCount++;
  if (rowsNew < MAX_ROWS) rowsNew++;
  rowsDirty = true;
  schedule();
}

// ------------------------------------------------------------ extent
// The target extent grows at once (with a margin) when data falls outside
// it, and shrinks to the data only after the data has used less than half of
// it for SHRINK_AFTER_MS: the map does not breathe with every tick.
function updateExtent() {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  const acc = (buf, n) => {
    for (let i = 0; i < n; i++) {
      const x = buf[2 * i], y = buf[2 * i + 1];
      if (x < x0) x0 = x; if (x > x1) x1 = x;
      if (y < y0) y0 = y; if (y > y1) y1 = y;
    }
  };
  acc(riders, nRiders);
  acc(drivers, nDrivers);
  const t = now();
  for (let k = 0; k < lineCount; k++) {
    const i = (lineHead - 1 - k + MAX_LINES) % MAX_LINES;
    if (t - lineT[i] > LINE_MS) break;
    for (let j = 0; j < 4; j += 2) {
      const x = lineXY[4 * i + j], y = lineXY[4 * i + j + 1];
      if (x < x0) x0 = x; if (x > x1) x1 = x;
      if (y < y0) y0 = y; if (y > y1) y1 = y;
    }
  }
  if (x0 > x1) return;                       // no data: keep what we have
  const padded = pad(x0, y0, x1, y1, 0.08);
  if (!target) {
    target = padded;
    view = { ...padded };
    smallSince = 0;
    return;
  }
  if (x0 < target.x0 || y0 < target.y0 || x1 > target.x1 || y1 > target.y1) {
    target = pad(Math.min(x0, target.x0), Math.min(y0, target.y0),
      Math.max(x1, target.x1), Math.max(y1, target.y1), 0.04);
    smallSince = 0;
    return;
  }
  const used = Math.max((x1 - x0) / (target.x1 - target.x0), (y1 - y0) / (target.y1 - target.y0));
  if (used < 0.5) {
    if (!smallSince) smallSince = t;
    else if (t - smallSince > SHRINK_AFTER_MS) { target = padded; smallSince = 0; }
  } else {
    smallSince = 0;
  }
}

function pad(x0, y0, x1, y1, f) {
  const span = Math.max(x1 - x0, y1 - y0, 1e-6 * Math.max(1, Math.abs(x0), Math.abs(y0)), 1);
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  const hw = Math.max(x1 - x0, span * 0.02) / 2 + span * f;
  const hh = Math.max(y1 - y0, span * 0.02) / 2 + span * f;
  return { x0: cx - hw, y0: cy - hh, x1: cx + hw, y1: cy + hh };
}

// eases view toward target; true while still moving
function animateView(dt) {
  if (!target || !view) return false;
  const a = 1 - Math.exp(-dt / 180);
  let moving = false;
  for (const k of ['x0', 'y0', 'x1', 'y1']) {
    const d = target[k] - view[k];
    const eps = (target.x1 - target.x0 + target.y1 - target.y0) * 1e-4;
    if (Math.abs(d) > eps) { view[k] += d * a; moving = true; } else view[k] = target[k];
  }
  return moving;
}

// ------------------------------------------------------------ drawing
const canvas = $('map');
const ctx = canvas.getContext('2d', { alpha: false });
const spark = $('spark');
const sctx = spark.getContext('2d');
let dpr = 1;

function resize() {
  dpr = Math.min(window.devicePixelRatio || 1, 2);
  for (const c of [canvas, spark]) {
    const r = c.getBoundingClientRect();
    const w = Math.max(1, Math.round(r.width * dpr)), h = Math.max(1, Math.round(r.height * dpr));
    if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
  }
  mapDirty = sparkDirty = true;
  markClipped();
  schedule();
}
new ResizeObserver(resize).observe(canvas.parentElement);
new ResizeObserver(resize).observe(spark);

let rafId = 0, lastFrame = 0;
function schedule() {
  if (!rafId) rafId = requestAnimationFrame(frame);
}

function frame(ts) {
  rafId = 0;
  debug.frames++;
  const t = now();
  const dt = lastFrame ? Math.min(100, t - lastFrame) : 16;
  lastFrame = t;
  let again = false;
  const moving = animateView(dt);
  if (mapDirty || moving || linesAlive(t)) {
    again = drawMap(t) || moving;
    mapDirty = false;
  }
  if (sparkDirty) { drawSpark(); sparkDirty = false; }
  if (statsDirty) { renderStats(); statsDirty = false; }
  if (rowsDirty) {
    if (t - rowsRenderedAt >= ROWS_EVERY_MS) { renderRows(); rowsRenderedAt = t; rowsDirty = false; }
    else again = true;
  }
  if (again) schedule();
}

function linesAlive(t) {
  return lineCount > 0 && t - lineT[(lineHead - 1 + MAX_LINES) % MAX_LINES] < LINE_MS;
}

function niceStep(span, n) {
  const raw = span / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

const ALPHA_BUCKETS = 6;
// Draws the whole map; returns true while match lines are still fading.
function drawMap(t) {
  debug.mapDraws++;
  const W = canvas.width, H = canvas.height;
  ctx.fillStyle = COLORS.bg;
  ctx.fillRect(0, 0, W, H);
  if (!view) {
    debug.pointsDrawn = debug.linesDrawn = 0;
    setText($('map-note'), 'waiting for data…');
    return false;
  }
  const m = 28 * dpr;
  const vw = view.x1 - view.x0, vh = view.y1 - view.y0;
  const s = Math.min((W - 2 * m) / vw, (H - 2 * m) / vh);
  const cx = (view.x0 + view.x1) / 2, cy = (view.y0 + view.y1) / 2;
  const ox = W / 2 - s * cx, oy = H / 2 + s * cy;   // y grows upward
  const X = (x) => ox + s * x, Y = (y) => oy - s * y;

  // grid with labels
  const step = niceStep(Math.max(vw, vh), 6);
  const gx0 = Math.ceil((cx - W / 2 / s) / step) * step, gx1 = cx + W / 2 / s;
  const gy0 = Math.ceil((cy - H / 2 / s) / step) * step, gy1 = cy + H / 2 / s;
  ctx.strokeStyle = COLORS.grid;
  ctx.lineWidth = 1;
  ctx.beginPath();
  let guard = 0;
  for (let x = gx0; x <= gx1 && guard < 200; x += step, guard++) {
    const px = Math.round(X(x)) + 0.5; ctx.moveTo(px, 0); ctx.lineTo(px, H);
  }
  for (let y = gy0; y <= gy1 && guard < 400; y += step, guard++) {
    const py = Math.round(Y(y)) + 0.5; ctx.moveTo(0, py); ctx.lineTo(W, py);
  }
  ctx.stroke();
  ctx.fillStyle = COLORS.axis;
  ctx.font = `${10 * dpr}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  const dec = step >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(step)));
  guard = 0;
  for (let x = gx0; x <= gx1 && guard < 200; x += step, guard++) ctx.fillText(x.toFixed(dec), X(x) + 3 * dpr, 3 * dpr);
  ctx.textBaseline = 'bottom';
  for (let y = gy0; y <= gy1 && guard < 400; y += step, guard++) ctx.fillText(y.toFixed(dec), 3 * dpr, Y(y) - 2 * dpr);

  // waiting riders and drivers
  const r = Math.max(1.5, Math.min(3.2, 2600 / Math.sqrt(nRiders + nDrivers + 400) / 10)) * dpr;
  let drawn = 0;
  const dots = (buf, n, color) => {
    ctx.fillStyle = color;
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      const px = X(buf[2 * i]), py = Y(buf[2 * i + 1]);
      if (px < -r || py < -r || px > W + r || py > H + r) continue;
      ctx.moveTo(px + r, py);
      ctx.arc(px, py, r, 0, 2 * Math.PI);
      drawn++;
    }
    ctx.fill();
  };
  ctx.globalAlpha = 0.9;
  dots(drivers, nDrivers, COLORS.driver);
  dots(riders, nRiders, COLORS.rider);
  ctx.globalAlpha = 1;
  debug.pointsDrawn = drawn;

  // new matches: driver → rider, fading; one path per alpha bucket
  let lines = 0, alive = false;
  ctx.strokeStyle = COLORS.match;
  ctx.fillStyle = COLORS.match;
  ctx.lineWidth = 1.6 * dpr;
  ctx.lineCap = 'round';
  for (let b = ALPHA_BUCKETS; b >= 1; b--) {
    const lo = LINE_MS * (ALPHA_BUCKETS - b) / ALPHA_BUCKETS;
    const hi = LINE_MS * (ALPHA_BUCKETS - b + 1) / ALPHA_BUCKETS;
    ctx.globalAlpha = b / ALPHA_BUCKETS;
    ctx.beginPath();
    let any = false;
    for (let k = 0; k < lineCount; k++) {
      const i = (lineHead - 1 - k + MAX_LINES) % MAX_LINES;
      const age = t - lineT[i];
      if (age >= hi) break;                 // the ring is newest first
      if (age < lo) continue;
      ctx.moveTo(X(lineXY[4 * i]), Y(lineXY[4 * i + 1]));
      ctx.lineTo(X(lineXY[4 * i + 2]), Y(lineXY[4 * i + 3]));
      any = true;
      lines++;
    }
    if (any) { ctx.stroke(); alive = true; }
  }
  ctx.globalAlpha = 1;
  debug.linesDrawn = lines;

  let note = `x ${fmtNum(view.x0)} … ${fmtNum(view.x1)} · y ${fmtNum(view.y0)} … ${fmtNum(view.y1)}`;
  if (waitingRiders > nRiders || waitingDrivers > nDrivers) {
    note = `showing ${fmtCount(nRiders)} of ${fmtCount(waitingRiders)} riders, ` +
      `${fmtCount(nDrivers)} of ${fmtCount(waitingDrivers)} drivers · ` + note;
  }
  setText($('map-note'), note);
  return alive;
}

function drawSpark() {
  const W = spark.width, H = spark.height;
  sctx.clearRect(0, 0, W, H);
  if (sparkCount < 2) return;
  let max = 1;
  for (let k = 0; k < sparkCount; k++) max = Math.max(max, sparkReq[k], sparkMatch[k]);
  const pad = 4 * dpr;
  const stepX = (W - 2 * pad) / (SPARK_N - 1);
  const line = (buf, color, fill) => {
    sctx.beginPath();
    for (let k = 0; k < sparkCount; k++) {
      const i = (sparkHead - sparkCount + k + SPARK_N) % SPARK_N;
      const x = W - pad - (sparkCount - 1 - k) * stepX;
      const y = H - pad - (buf[i] / max) * (H - 2 * pad);
      if (k === 0) sctx.moveTo(x, y); else sctx.lineTo(x, y);
    }
    sctx.strokeStyle = color;
    sctx.lineWidth = 1.5 * dpr;
    sctx.stroke();
    if (fill) {
      sctx.lineTo(W - pad, H - pad);
      sctx.lineTo(W - pad - (sparkCount - 1) * stepX, H - pad);
      sctx.closePath();
      sctx.globalAlpha = 0.12;
      sctx.fillStyle = color;
      sctx.fill();
      sctx.globalAlpha = 1;
    }
  };
  line(sparkReq, COLORS.req, true);
  line(sparkMatch, COLORS.matches, false);
  sctx.fillStyle = '#8a96ad';
  sctx.font = `${9 * dpr}px system-ui, sans-serif`;
  sctx.textBaseline = 'top';
  sctx.fillText(`${fmtRate(max)}/s`, pad, 0);
}

// ------------------------------------------------------------ DOM text
const el = {
  requests: $('c-requests'), matches: $('c-matches'), riders: $('c-riders'), drivers: $('c-drivers'),
  expired: $('c-expired'), tick: $('c-tick'), p50: $('c-p50'), p99: $('c-p99'),
  totals: $('totals'), legendR: $('legend-riders'), legendD: $('legend-drivers'),
};

// Matching quality (the stats' "quality", last 10 s), next to the speed
// figures: counters added here so that index.html needs no change.
function addCounter(label, title) {
  const ref = $('c-p99');
  const box = ref && ref.parentNode && ref.parentNode.parentNode;
  if (!box) return null;
  const div = document.createElement('div');
  div.className = 'counter';
  const l = document.createElement('span');
  l.className = 'label';
  l.textContent = label;
  const v = document.createElement('span');
  v.className = 'value';
  v.textContent = '–';
  v.title = title;
  div.appendChild(l);
  div.appendChild(v);
  box.appendChild(div);
  return v;
}
const qel = {
  mean: addCounter('pickup mean', 'mean rider–driver distance of the pairs made in the last 10 s'),
  p95: addCounter('pickup p95', 'p95 rider–driver distance of the pairs made in the last 10 s'),
  riders: addCounter('rider match', 'share of riders matched rather than expired, last 10 s'),
  drivers: addCounter('driver match', 'share of drivers matched rather than expired, last 10 s'),
};
const fmtShare = (v) => (finite(v) ? `${(100 * v).toFixed(v >= 0.995 || v === 0 ? 0 : 1)}%` : '–');
const fmtDist = (v) => (finite(v) ? (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(2)) : '–');

function renderQuality(q) {
  if (!q || !qel.mean) return;
  const r = q.riders || {}, d = q.drivers || {}, rw = r.wait_ms || {}, dw = d.wait_ms || {};
  const none = !(q.pairs > 0);
  setText(qel.mean, none ? '–' : fmtDist(q.pickup && q.pickup.mean));
  setText(qel.p95, none ? '–' : fmtDist(q.pickup && q.pickup.p95));
  setText(qel.riders, fmtShare(r.matched_share));
  setText(qel.drivers, fmtShare(d.matched_share));
  qel.riders.title = `riders, last 10 s: ${fmtCount(r.matched)} matched, ${fmtCount(r.expired)} expired; ` +
    `wait to match p50 ${fmtMs(rw.p50)}, p99 ${fmtMs(rw.p99)}`;
  qel.drivers.title = `drivers, last 10 s: ${fmtCount(d.matched)} matched, ${fmtCount(d.expired)} expired; ` +
    `wait to match p50 ${fmtMs(dw.p50)}, p99 ${fmtMs(dw.p99)}`;
}

function renderStats() {
  const m = stats;
  if (!m) return;
  const l = m.latency_ms || {}, tot = m.totals || {};
  setText(el.requests, fmtRate(rates.requests));
  setText(el.matches, fmtRate(rates.matches));
  setText(el.expired, fmtRate(rates.expired));
  setText(el.riders, fmtCount(waitingRiders));
  setText(el.drivers, fmtCount(waitingDrivers));
  setText(el.legendR, fmtCount(waitingRiders));
  setText(el.legendD, fmtCount(waitingDrivers));
  setText(el.tick, fmtMs(m.tick_duration_ms));
  el.tick.title = finite(m.tick_ms) ? `time the matcher spent in its last tick (every ${m.tick_ms} ms)` : '';
  setText(el.p50, fmtMs(l.p50));
  setText(el.p99, fmtMs(l.p99));
  el.p99.title = finite(l.max) ? `p90 ${fmtMs(l.p90)}, max ${fmtMs(l.max)} (acceptance → match, last 10 s)` : '';
  setText(el.totals, `totals: ${fmtCount(tot.requests)} requests · ${fmtCount(tot.matched)} matched · ` +
    `${fmtCount(tot.expired)} expired`);
  el.totals.title = finite(m.ts_ms) ? `as of ${new Date(m.ts_ms).toLocaleTimeString()}` : '';
  renderQuality(m.quality);
}

// fixed rows, filled in place
function makeRows(tbody, n, cols, classes) {
  const rows = [];
  for (let i = 0; i < n; i++) {
    const tr = document.createElement('tr');
    const tds = [];
    for (let c = 0; c < cols; c++) {
      const td = document.createElement('td');
      if (classes[c]) td.className = classes[c];
      tr.appendChild(td);
      tds.push(td);
    }
    tr.hidden = true;
    tbody.appendChild(tr);
    rows.push({ tr, tds });
  }
  return rows;
}
const matchRows = makeRows($('matches'), MAX_ROWS, 5, ['', '', '', 'num', 'num fare']);
const topRows = makeRows($('top'), TOP_LIMIT, 5, ['num', '', '', 'num stars', 'num']);

function renderRows() {
  const fresh = Math.min(rowsNew, rowCount);
  rowsNew = 0;
  for (let k = 0; k < MAX_ROWS; k++) {
    const { tr, tds } = matchRows[k];
    if (k >= rowCount) { tr.hidden = true; continue; }
    const row = rowRing[(rowHead - 1 - k + MAX_ROWS) % MAX_ROWS];
    setText(tds[0], row.rider);
    setText(tds[1], row.driver);
    setText(tds[2], row.car);
    setText(tds[3], fmtNum(row.dist));
    setText(tds[4], finite(row.fare) ? 'Tk\u00a0' + row.fare.toFixed(2) : '–');
    tr.title = `${row.rider} ← ${row.driver} (${row.car})`;
    tr.hidden = false;
    tr.classList.remove('fresh');
  }
  if (fresh > 0) {
    void matchRows[0].tr.offsetWidth;      // restart the highlight animation
    for (let k = 0; k < fresh; k++) matchRows[k].tr.classList.add('fresh');
  }
  debug.rowsShown = rowCount;
  $('matches-empty').hidden = rowCount > 0;
  markClipped();
}

// a list cut by its box fades out at the bottom
const lists = document.querySelectorAll('.side .list');
function markClipped() {
  for (const sec of lists) sec.classList.toggle('clipped', sec.scrollHeight > sec.clientHeight + 1);
}

// ------------------------------------------------------------ top-rated drivers
let topTimer = 0;
async function refreshTop() {
  topTimer = 0;
  if (!document.hidden) {
    const ac = new AbortController();
    const to = setTimeout(() => ac.abort(), TOP_TIMEOUT_MS);
    try {
      const res = await fetch(`/rating/top?limit=${TOP_LIMIT}`, { cache: 'no-store', signal: ac.signal });
      if (res.ok) renderTop(await res.json());
      else setTopNote(`ratings unavailable (${res.status})`);
    } catch (e) {
      setTopNote('ratings unavailable');
    } finally {
      clearTimeout(to);
    }
  }
  topTimer = setTimeout(refreshTop, TOP_EVERY_MS);
}

function setTopNote(text) {
  const p = $('top-empty');
  setText(p, text);
  p.hidden = false;
}

function renderTop(list) {
  if (!Array.isArray(list)) list = [];
  let n = 0;
  for (let k = 0; k < TOP_LIMIT; k++) {
    const { tr, tds } = topRows[k];
    const d = list[k];
    if (!d || typeof d !== 'object') { tr.hidden = true; continue; }
    setText(tds[0], String(k + 1));
    setText(tds[1], str(d.name));
    setText(tds[2], str(d.car_number, 32));
    setText(tds[3], finite(d.average) ? '★ ' + d.average.toFixed(2) : '–');
    setText(tds[4], fmtCount(d.count));
    tr.hidden = false;
    n++;
  }
  debug.topRows = n;
  const p = $('top-empty');
  setText(p, 'no ratings yet');
  p.hidden = n > 0;
  markClipped();
}

// ------------------------------------------------------------ start
setState('connecting');
connect();
refreshTop();
resize();
