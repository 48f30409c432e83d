import { CoreApp, DataQueryRequest } from '@grafana/data';
import { lastValueFrom } from 'rxjs';

import { DataSource, FleetVariableSupport } from './datasource';
import { fakeTemplateSrv } from './test/templateSrv';
import { instanceSettings } from './test/settings';
import { FleetQuery, FleetVariableQuery } from './types';

const variables = {
  model: 'gpt-oss-120b',
  models: ['gpt-oss-120b', 'gemma-4-31B', 'Qwen3.5-397B'],
  family: 'gemma',
  tokens: 'generation',
  metric: 'power_w',
};

function dataSource() {
  return new DataSource(instanceSettings(), fakeTemplateSrv(variables));
}

describe('applyTemplateVariables', () => {
  const ds = dataSource();
  const apply = (query: Partial<FleetQuery>, scopedVars = {}) =>
    ds.applyTemplateVariables({ refId: 'A', queryType: 'fleet-timeseries', ...query }, scopedVars);

  it('replaces a single-value variable in every text option', () => {
    expect(apply({ models: ['$model'], modelRegex: '${family}.*', tokens: '$tokens', metric: '$metric' })).toEqual({
      refId: 'A',
      queryType: 'fleet-timeseries',
      models: ['gpt-oss-120b'],
      modelRegex: 'gemma.*',
      tokens: 'generation',
      metric: 'power_w',
    });
  });

  it('expands a multi-value variable into the models list, next to literal names, without duplicates', () => {
    expect(apply({ models: ['$models', 'olmo-2-32b', 'gemma-4-31B'] }).models).toEqual([
      'gpt-oss-120b',
      'gemma-4-31B',
      'Qwen3.5-397B',
      'olmo-2-32b',
    ]);
  });

  it('turns a multi-value variable into an alternation of escaped names in modelRegex', () => {
    const { modelRegex } = apply({ modelRegex: '$models' });
    expect(modelRegex).toBe('(gpt-oss-120b|gemma-4-31B|Qwen3\\.5-397B)');
    const re = new RegExp(`^(?:${modelRegex})$`);
    expect(['gpt-oss-120b', 'Qwen3.5-397B'].every((m) => re.test(m))).toBe(true);
    expect(re.test('Qwen3x5-397B')).toBe(false);
  });

  it('prefers scoped variables (repeated panels) to dashboard ones', () => {
    expect(apply({ models: ['$model'] }, { model: { text: 'Kimi-K2.5', value: 'Kimi-K2.5' } }).models).toEqual([
      'Kimi-K2.5',
    ]);
  });

  it('leaves options that are absent absent, and numbers as they are', () => {
    expect(apply({ idleThreshold: 0.5 })).toEqual({ refId: 'A', queryType: 'fleet-timeseries', idleThreshold: 0.5 });
  });
});

describe('queries sent', () => {
  const ds = dataSource();

  it('a new query is a fleet time series', () => {
    expect(ds.getDefaultQuery(CoreApp.PanelEditor)).toEqual({ queryType: 'fleet-timeseries' });
  });

  it.each([
    [{ refId: 'A', queryType: 'right-sizing' }, true],
    [{ refId: 'A', queryType: 'right-sizing', hide: true }, false],
    [{ refId: 'A' }, false],
    [{ refId: 'A', queryType: 'no-such-type' }, false],
  ])('filterQuery(%j) is %s', (query, sent) => {
    expect(ds.filterQuery(query as FleetQuery)).toBe(sent);
  });
});

describe('variable support', () => {
  it.each(['models', 'gpu-types', 'namespaces'] as const)('lists %s from the backend resource', async (resource) => {
    const ds = dataSource();
    const getResource = jest.spyOn(ds, 'getResource').mockResolvedValue(['a', 'b']);
    const request = { targets: [{ refId: 'variable', resource }] } as unknown as DataQueryRequest<FleetVariableQuery>;

    const response = await lastValueFrom((ds.variables as FleetVariableSupport).query(request));

    expect(getResource).toHaveBeenCalledWith(resource);
    expect(response.data).toEqual([
      { text: 'a', value: 'a' },
      { text: 'b', value: 'b' },
    ]);
  });

  it('starts a new variable on the served models', async () => {
    const ds = dataSource();
    const support = ds.variables as FleetVariableSupport;
    const getResource = jest.spyOn(ds, 'getResource').mockResolvedValue(['gpt-oss-120b']);
    const query = { refId: 'variable', ...support.getDefaultQuery() } as unknown as FleetVariableQuery;

    const response = await lastValueFrom(support.query({ targets: [query] } as DataQueryRequest<FleetVariableQuery>));

    expect(query.resource).toBe('models');
    expect(getResource).toHaveBeenCalledWith('models');
    expect(response.data).toEqual([{ text: 'gpt-oss-120b', value: 'gpt-oss-120b' }]);
  });

  it('lists the served models for a variable saved with an empty query, as its editor shows', async () => {
    const ds = dataSource();
    const getResource = jest.spyOn(ds, 'getResource').mockResolvedValue(['gemma-4-31B']);
    await expect(ds.metricFindQuery({ refId: 'variable' })).resolves.toEqual([
      { text: 'gemma-4-31B', value: 'gemma-4-31B' },
    ]);
    await expect(ds.metricFindQuery('')).resolves.toEqual([{ text: 'gemma-4-31B', value: 'gemma-4-31B' }]);
    expect(getResource.mock.calls).toEqual([['models'], ['models']]);
  });

  it('accepts a legacy string query and refuses unknown resources', async () => {
    const ds = dataSource();
    jest.spyOn(ds, 'getResource').mockResolvedValue(['nvidia a100']);
    await expect(ds.metricFindQuery('gpu-types')).resolves.toEqual([{ text: 'nvidia a100', value: 'nvidia a100' }]);
    await expect(ds.metricFindQuery('pods')).rejects.toThrow(
      'Cannot list "pods": choose one of models, gpu-types, namespaces.'
    );
  });
});
