// The dashboard preview (tests/dashboard/page.tsx) in the browser check (tests/check.mjs): every panel of the
// provisioned dashboard got numbers from the plugin and drew them, and the page is saved as
// docs/img/dashboard.png, its last row ("Cost and carbon by team") as docs/img/dashboard-teams.png too.
import path from 'node:path';

// What a panel type shows once drawn: uPlot's canvas, table rows (the header's and at least one more), the
// stat's numbers (BigValue writes the number apart from its unit).
const DRAWN = {
  timeseries: (panel) => panel.locator('canvas').count(),
  barchart: (panel) => panel.locator('canvas').count(),
  xychart: (panel) => panel.locator('canvas').count(),
  table: async (panel) => (await panel.getByRole('row').count()) - 1,
  stat: (panel) => panel.getByText(/^-?\d[\d.,]*$/).count(),
};

export async function checkDashboard(page, fail, imgDir) {
  await page.setViewportSize({ width: 1600, height: 1000 });
  await page.locator('body[data-rendered]').waitFor({ state: 'attached', timeout: 20000 });
  for (const panel of await page.locator('[data-panel]').all()) {
    const [title, type, values] = await Promise.all(
      ['data-panel', 'data-type', 'data-values'].map((a) => panel.getAttribute(a))
    );
    if (Number(values) === 0) {
      fail(`panel "${title}" got no numbers from the plugin`);
    } else if ((await DRAWN[type](panel)) < 1) {
      fail(`panel "${title}" (${type}) drew nothing`);
    }
  }
  await page.waitForLoadState('networkidle');
  await page.locator('#dashboard').screenshot({ path: path.join(imgDir, 'dashboard.png') });

  // The team row runs from its header to the bottom of the grid.
  await page.evaluate(() => window.scrollTo(0, 0));
  const row = await page.locator('[data-row="Cost and carbon by team"]').boundingBox();
  const grid = await page.locator('#dashboard').boundingBox();
  if (!row || !grid) {
    fail('the dashboard has no "Cost and carbon by team" row');
    return;
  }
  const clip = { x: grid.x, y: row.y, width: grid.width, height: grid.y + grid.height - row.y };
  await page.screenshot({ path: path.join(imgDir, 'dashboard-teams.png'), fullPage: true, clip });
}
