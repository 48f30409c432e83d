// Browser check of the test pages built by tests/webpack.config.ts (`npm run e2e:browser`): serves tests/dist on
// 127.0.0.1, opens each page in headless Chromium (Debian's, driven by playwright-core), fails on any console
// error, page error or failed request, runs the page's own checks and saves its screenshots to docs/img/.
// `node tests/check.mjs dashboard` checks one page.
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { checkDashboard } from './dashboard/check.mjs';
import { checkEditors } from './editors/check.mjs';

const CHECKS = { editors: checkEditors, dashboard: checkDashboard };

const here = path.dirname(fileURLToPath(import.meta.url));
const siteDir = path.join(here, 'dist');
const imgDir = path.resolve(here, '../docs/img');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TYPES = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.css': 'text/css',
};

// Grafana serves its web fonts from public/fonts/; npm does not ship them, Debian does (fonts-inter, fonts-dejavu).
function fontFile(urlPath) {
  const inter = urlPath.match(/^\/public\/fonts\/inter\/(Inter-\w+)\.woff2$/);
  if (inter) {
    return `/usr/share/fonts/opentype/inter/${inter[1]}.otf`;
  }
  // Roboto Mono (code) is not packaged: a monospace face of the same role stands in.
  return urlPath.startsWith('/public/fonts/roboto/')
    ? '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf'
    : undefined;
}

function serve() {
  const server = createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const requested = fontFile(urlPath) ?? path.join(siteDir, path.normalize(urlPath));
    const file = requested.endsWith(path.sep) ? path.join(requested, 'index.html') : requested;
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(CHECKS);
const problems = [];

const server = await serve();
const userDataDir = mkdtempSync(path.join(tmpdir(), 'fleet-pages-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  viewport: { width: 1100, height: 900 },
  deviceScaleFactor: 1,
  timezoneId: 'UTC',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});

try {
  mkdirSync(imgDir, { recursive: true });
  for (const name of names) {
    const check = CHECKS[name];
    if (!check) {
      throw new Error(`no page "${name}"; the pages are: ${Object.keys(CHECKS).join(', ')}`);
    }
    const fail = (message) => problems.push(`${name}: ${message}`);
    const page = await context.newPage();
    page.on('console', (msg) => msg.type() === 'error' && fail(`console error: ${msg.text()}`));
    page.on('pageerror', (err) => fail(`page error: ${err.message}`));
    page.on('requestfailed', (req) => fail(`request failed: ${req.url()} (${req.failure()?.errorText})`));
    page.on('response', (res) => res.status() >= 400 && fail(`HTTP ${res.status()} for ${res.url()}`));
    const started = Date.now();
    await page.goto(`http://127.0.0.1:${server.address().port}/${name}/`, { waitUntil: 'networkidle' });
    try {
      await check(page, fail, imgDir);
    } catch (err) {
      fail(err.message); // with the console errors that explain it
    }
    await page.close();
    console.log(`${name}: checked in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
} finally {
  await context.close();
  server.close();
  rmSync(userDataDir, { recursive: true, force: true });
}

if (problems.length > 0) {
  console.error(`Browser check FAILED:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(
  `Browser check passed (${names.join(', ')}): no console errors; screenshots in ${path.relative(process.cwd(), imgDir)}/`
);
