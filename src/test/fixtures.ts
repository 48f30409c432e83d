import fs from 'fs';
import path from 'path';
import { DataSourceInstanceSettings, PluginMetaInfo, PluginType } from '@grafana/data';

import { FleetOptions } from '../types';

/** The query contract the Go backend tests against too (pkg/models/testdata/query_options.json). */
export interface QueryOptionsFixture {
  queryTypes: Record<string, string[]>;
  defaults: Record<string, string | number>;
  choices: Record<string, string[]>;
}

export const queryOptionsFixture: QueryOptionsFixture = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, '../../pkg/models/testdata/query_options.json'), 'utf8')
);

export function instanceSettings(jsonData: FleetOptions = {}): DataSourceInstanceSettings<FleetOptions> {
  return {
    uid: 'fleet',
    type: 'nrp-fleetefficiency-datasource',
    name: 'GPU Fleet Efficiency',
    access: 'proxy',
    readOnly: false,
    jsonData,
    meta: {
      id: 'nrp-fleetefficiency-datasource',
      name: 'GPU Fleet Efficiency',
      type: PluginType.datasource,
      module: '',
      baseUrl: '',
      info: {} as PluginMetaInfo,
    },
  };
}
