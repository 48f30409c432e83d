// The editors' page (tests/editors/page.tsx) in the browser check (tests/check.mjs): what a user sees in the query
// and config editors, the query JSON a change produces, and screenshots of both editors.
import path from 'node:path';

export async function checkEditors(page, fail, imgDir) {
  // Query editor: what a user sees, and the JSON a change produces.
  const queryEditor = page.locator('#query-editor');
  await queryEditor.getByRole('combobox', { name: 'Query type' }).waitFor();
  for (const label of [
    'Models',
    'Model regex',
    'Tokens',
    'Idle below (tok/s)',
    'KV-cache headroom',
    'Traffic margin',
    'Min history (h)',
  ]) {
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
  await queryEditor.screenshot({ path: path.join(imgDir, 'query-editor.png') });
  await page.locator('#query-editor-explore').screenshot({ path: path.join(imgDir, 'query-editor-explore.png') });
  await configEditor.screenshot({ path: path.join(imgDir, 'config-editor.png') });
}
