import { DataSourceInstanceSettings, DataSourceSettings, PluginMetaInfo, PluginType } from '@grafana/data';

import { FleetOptions } from '../types';

/** Instance settings of this data source as Grafana hands them to the frontend. */
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

/** The settings the config editor edits, as Grafana passes them: no secret values, only which are set. */
export function dataSourceSettings(
  patch: Partial<DataSourceSettings<FleetOptions>> = {}
): DataSourceSettings<FleetOptions> {
  return {
    id: 1,
    uid: 'fleet',
    orgId: 1,
    name: 'GPU Fleet Efficiency',
    type: 'nrp-fleetefficiency-datasource',
    typeName: 'GPU Fleet Efficiency',
    typeLogoUrl: '',
    access: 'proxy',
    url: 'http://prometheus:9090',
    user: '',
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- still a required field of the type in @grafana/data 12
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    withCredentials: false,
    readOnly: false,
    jsonData: {},
    secureJsonFields: {},
    ...patch,
  };
}
