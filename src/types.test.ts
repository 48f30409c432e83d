import { queryOptionsFixture } from './test/fixtures';
import {
  FREED_GPU_CHOICES,
  EVENT_KINDS,
  GROUP_BY_CHOICES,
  FleetQuery,
  OPTION_DEFAULTS,
  QUERY_TYPE_INFO,
  QUERY_TYPES,
  TIMESERIES_METRICS,
  TOKEN_KINDS,
  withQueryType,
} from './types';

describe('query contract shared with the backend (pkg/models/testdata/query_options.json)', () => {
  it('has the same query types, in the order the backend lists them', () => {
    expect(QUERY_TYPES).toEqual(Object.keys(queryOptionsFixture.queryTypes));
  });

  it.each(Object.entries(queryOptionsFixture.queryTypes))('%s uses exactly the options %j', (type, options) => {
    expect([...QUERY_TYPE_INFO[type as keyof typeof QUERY_TYPE_INFO].options].sort()).toEqual([...options].sort());
  });

  it('has the backend defaults', () => {
    expect(OPTION_DEFAULTS).toEqual(queryOptionsFixture.defaults);
  });

  it('offers the backend choices', () => {
    expect(TOKEN_KINDS).toEqual(queryOptionsFixture.choices.tokens);
    expect(TIMESERIES_METRICS).toEqual(queryOptionsFixture.choices.metric);
    expect(FREED_GPU_CHOICES).toEqual(queryOptionsFixture.choices.freedGPUs);
    expect(GROUP_BY_CHOICES).toEqual(queryOptionsFixture.choices.groupBy);
    expect(EVENT_KINDS).toEqual(queryOptionsFixture.choices.events);
  });
});

describe('withQueryType', () => {
  // Every option set to a non-default value, plus Grafana's own fields.
  const everything: FleetQuery = {
    refId: 'A',
    datasource: { type: 'nrp-fleetefficiency-datasource', uid: 'fleet' },
    hide: false,
    queryType: 'right-sizing',
    models: ['gpt-oss-120b'],
    modelRegex: 'gemma.*',
    tokens: 'generation',
    idleThreshold: 0.5,
    metric: 'power_w',
    groupBy: 'namespace',
    kvHeadroom: 0.3,
    trafficMargin: 0.5,
    minHistoryHours: 24,
    contextTokens: 4096,
    ttftP95Seconds: 1,
    itlP95Seconds: 0.05,
    freedGPUs: 'powered-off',
    spinDownIdleShare: 0.9,
    events: ['restart'],
  };
  const grafanaFields = ['refId', 'datasource', 'hide', 'queryType'];

  it.each(Object.entries(queryOptionsFixture.queryTypes))('switching to %s keeps only its options', (type, options) => {
    const switched = withQueryType(everything, type as FleetQuery['queryType'] & string);
    expect(Object.keys(switched).sort()).toEqual([...grafanaFields, ...options].sort());
    expect(switched.queryType).toBe(type);
    for (const option of options) {
      expect(switched[option as keyof FleetQuery]).toEqual(everything[option as keyof FleetQuery]);
    }
  });
});
