// Browser check of the editors: serves the page built by tests/editors/webpack.config.ts on 127.0.0.1, opens it
// in headless Chromium (Debian's, driven by playwright-core), fails on any console error or page error, drives a
// few controls, and saves screenshots of both editors to docs/img/.
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const pageDir = path.join(here, 'dist');
const imgDir = path.resolve(here, '../../docs/img');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.svg': 'image/svg+xml', '.css': 'text/css' };

// Grafana serves its web fonts from public/fonts/; npm does not ship them, Debian does (fonts-inter, fonts-dejavu).
function fontFile(urlPath) {
  const inter = urlPath.match(/^\/public\/fonts\/inter\/(Inter-\w+)\.woff2$/);
  if (inter) {
    return `/usr/share/fonts/opentype/inter/${inter[1]}.otf`;
  }
  // Roboto Mono (code) is not packaged: a monospace face of the same role stands in.
  return urlPath.startsWith('/public/fonts/roboto/') ? '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf' : undefined;
}

function serve() {
  const server = createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const requested = fontFile(urlPath) ?? path.join(pageDir, path.normalize(urlPath));
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

const problems = [];
const fail = (message) => problems.push(message);

const server = await serve();
const url = `http://127.0.0.1:${server.address().port}/`;
const userDataDir = mkdtempSync(path.join(tmpdir(), 'fleet-editors-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  viewport: { width: 1100, height: 900 },
  deviceScaleFactor: 1,
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
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (msg) => msg.type() === 'error' && fail(`console error: ${msg.text()}`));
  page.on('pageerror', (err) => fail(`page error: ${err.message}`));
  page.on('requestfailed', (req) => fail(`request failed: ${req.url()} (${req.failure()?.errorText})`));
  page.on('response', (res) => res.status() >= 400 && fail(`HTTP ${res.status()} for ${res.url()}`));

  await page.goto(url, { waitUntil: 'networkidle' });

  // Query editor: what a user sees, and the JSON a change produces.
  const queryEditor = page.locator('#query-editor');
  await queryEditor.getByRole('combobox', { name: 'Query type' }).waitFor();
  for (const label of ['Models', 'Model regex', 'Tokens', 'Idle below (tok/s)', 'KV-cache headroom', 'Traffic margin', 'Min history (h)']) {
    if ((await queryEditor.getByText(label, { exact: true }).count()) === 0) {
      fail(`query editor does not show "${label}"`);
    }
  }
  await queryEditor.getByLabel('Traffic margin').fill('2');
  await queryEditor.getByLabel('Traffic margin').blur();
  if ((await queryEditor.getByText('Must be a number from 0 to 0.95 (of the peak).').count()) !== 1) {
    fail('query editor does not explain an out-of-range traffic margin');
  }
  await queryEditor.getByLabel('Traffic margin').fill('0.4');
  await queryEditor.getByLabel('Traffic margin').blur();
  const json = JSON.parse(await page.locator('#query-json').textContent());
  if (json.trafficMargin !== 0.4 || json.queryType !== 'right-sizing') {
    fail(`query JSON after editing: ${JSON.stringify(json)}`);
  }
  // Opening the model picker lists the served models from the data source's /models resource.
  await queryEditor.getByRole('combobox', { name: 'Models' }).click();
  await page.getByRole('option', { name: 'Qwen3.5-397B' }).waitFor();
  await page.keyboard.press('Escape');
  await queryEditor.getByLabel('Traffic margin').click(); // close the menu and move focus off the picker

  // Config editor: the saved password stays a "configured" secret; the carbon section opens on its sites.
  const configEditor = page.locator('#config-editor');
  const password = configEditor.getByLabel(/^Password/);
  if ((await password.inputValue()) !== 'configured' || !(await password.isDisabled())) {
    fail('config editor does not show the saved password as configured');
  }
  await configEditor.getByRole('button', { name: 'Expand section Carbon' }).click();
  await configEditor.getByLabel('Sites, row 1, Site').waitFor();

  await page.waitForLoadState('networkidle');
  mkdirSync(imgDir, { recursive: true });
  await queryEditor.screenshot({ path: path.join(imgDir, 'query-editor.png') });
  await page.locator('#query-editor-explore').screenshot({ path: path.join(imgDir, 'query-editor-explore.png') });
  await configEditor.screenshot({ path: path.join(imgDir, 'config-editor.png') });
} finally {
  await context.close();
  server.close();
  rmSync(userDataDir, { recursive: true, force: true });
}

if (problems.length > 0) {
  console.error(`Editors browser check FAILED:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`Editors browser check passed: no console errors; screenshots in ${path.relative(process.cwd(), imgDir)}/`);
