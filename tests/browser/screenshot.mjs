// Takes the README's screenshot of the dashboard (docs/dashboard.png) from a
// running stack, as a small palette PNG (a few tens of KB).
//
//   PORT=12080 node tests/browser/screenshot.mjs [out.png]
//
// Run the bot against the stack first for a lively picture. WIDTH, HEIGHT
// (default 1200x720), WAIT_MS (default 6000: lets the sparkline fill a bit),
// COLORS (palette size, default 128).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PORT = Number(process.env.PORT || 8080);
const OUT = path.resolve(process.argv[2] || path.join(ROOT, 'docs', 'dashboard.png'));
const W = Number(process.env.WIDTH || 1200), H = Number(process.env.HEIGHT || 720);
const WAIT_MS = Number(process.env.WAIT_MS || 6000);
const NCOLORS = Math.min(256, Number(process.env.COLORS || 128));
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'dash-shot-'));
let ctx;
try {
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: FLAGS,
    viewport: { width: W, height: H }, timeout: 30000,
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  await page.goto(`http://127.0.0.1:${PORT}/`, { waitUntil: 'load' });
  await page.waitForFunction(() => document.body.dataset.state === 'live', null, { timeout: 15000 });
  await page.waitForTimeout(WAIT_MS);
  const png = await page.screenshot();
  // decode in the page: the browser is the PNG decoder at hand
  const rgba = Buffer.from(await page.evaluate(async (b64) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width; c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let s = '';
    for (let i = 0; i < d.length; i += 0x8000) s += String.fromCharCode.apply(null, d.subarray(i, i + 0x8000));
    return btoa(s);
  }, png.toString('base64')), 'base64');
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, palettePng(rgba, W, H, NCOLORS));
  console.log(`${OUT}: ${fs.statSync(OUT).size} bytes (${W}x${H}, ${NCOLORS} colours)`);
} finally {
  if (ctx) await ctx.close().catch(() => {});
  fs.rmSync(profile, { recursive: true, force: true });
}

// Popularity palette on 5-bit channels, nearest colour per pixel, PNG type 3.
function palettePng(rgba, w, h, n) {
  const key = (i) => ((rgba[i] >> 3) << 10) | ((rgba[i + 1] >> 3) << 5) | (rgba[i + 2] >> 3);
  const count = new Uint32Array(1 << 15), sum = new Float64Array(3 << 15);
  for (let i = 0; i < rgba.length; i += 4) {
    const k = key(i);
    count[k]++; sum[3 * k] += rgba[i]; sum[3 * k + 1] += rgba[i + 1]; sum[3 * k + 2] += rgba[i + 2];
  }
  const keys = [...count.keys()].filter((k) => count[k]).sort((a, b) => count[b] - count[a]).slice(0, n);
  const pal = keys.map((k) => [0, 1, 2].map((c) => Math.round(sum[3 * k + c] / count[k])));
  const map = new Int16Array(1 << 15).fill(-1);
  const idx = Buffer.alloc((w + 1) * h);
  for (let y = 0; y < h; y++) {
    idx[y * (w + 1)] = 0;                                 // filter: none
    for (let x = 0; x < w; x++) {
      const i = 4 * (y * w + x), k = key(i);
      if (map[k] < 0) {
        let best = 0, bd = Infinity;
        for (let p = 0; p < pal.length; p++) {
          const dr = pal[p][0] - rgba[i], dg = pal[p][1] - rgba[i + 1], db = pal[p][2] - rgba[i + 2];
          const d = 2 * dr * dr + 4 * dg * dg + 3 * db * db;
          if (d < bd) { bd = d; best = p; }
        }
        map[k] = best;
      }
      idx[y * (w + 1) + 1 + x] = map[k];
    }
  }
  const crcTable = Array.from({ length: 256 }, (_, c) => {
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; ihdr[9] = 3; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('PLTE', Buffer.from(pal.flat())),
    chunk('IDAT', zlib.deflateSync(idx, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
