// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const base = require('./.config/jest.config');
const swc = base.transform['^.+\\.(t|j)sx?$'];

module.exports = {
  // Jest configuration provided by Grafana scaffolding
  ...base,
  // Some dependencies of @grafana/ui (d3-color 3) ship ES modules as .mjs/.js: transform those too.
  transform: { ...base.transform, '^.+\\.mjs$': swc },
  // Editor tests drive real @grafana/ui components through many steps; CI machines have 2 shared cores.
  testTimeout: 60000,
};
