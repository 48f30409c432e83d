// The dashboard preview (tests/dashboard/page.tsx) in the browser check (tests/check.mjs): every panel of the
// provisioned dashboard got numbers from the plugin and drew them, and the page is saved as
// docs/img/dashboard.png.
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
}
