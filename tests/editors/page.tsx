// A static page that mounts the plugin's query and config editors the way Grafana would: inside its theme, with
// a template service and a data source whose backend resources answer from a fixed list.
import React, { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { CoreApp, createTheme } from '@grafana/data';
import { setTemplateSrv } from '@grafana/runtime';
import { GlobalStyles, ThemeContext } from '@grafana/ui';

import { ConfigEditor } from '../../src/components/ConfigEditor';
import { QueryEditor } from '../../src/components/QueryEditor';
import { DataSource } from '../../src/datasource';
import { dataSourceSettings, instanceSettings } from '../../src/test/settings';
import { fakeTemplateSrv } from '../../src/test/templateSrv';
import { FleetQuery } from '../../src/types';

const RESOURCES: Record<string, string[]> = {
  models: ['gpt-oss-120b', 'gemma-4-31B', 'Qwen3.5-397B', 'Kimi-K2.5', 'MiniMax-M2.5'],
  'gpu-types': ['NVIDIA RTX A6000', 'NVIDIA A100-SXM4-80GB'],
  namespaces: ['nrp-llm', 'sdsc-llm'],
};

const templateSrv = fakeTemplateSrv({ model: 'gpt-oss-120b' });
setTemplateSrv(templateSrv);

const datasource = new DataSource(instanceSettings(), templateSrv);
// The backend's CallResource, answered in the page.
datasource.getResource = async <T,>(path: string) => RESOURCES[path] as T;

const INITIAL_QUERY: FleetQuery = {
  refId: 'A',
  queryType: 'right-sizing',
  models: ['gpt-oss-120b', 'gemma-4-31B'],
  kvHeadroom: 0.25,
};

const INITIAL_SETTINGS = dataSourceSettings({
  url: 'http://prometheus.monitoring.svc:9090',
  basicAuth: true,
  basicAuthUser: 'grafana',
  jsonData: { scrapeInterval: '30s', mapping: { labelFilter: 'cluster="nrp"' } },
  secureJsonFields: { basicAuthPassword: true },
});

function Page() {
  const [query, setQuery] = useState(INITIAL_QUERY);
  const [exploreQuery, setExploreQuery] = useState<FleetQuery>({ refId: 'B', queryType: 'fleet-timeseries' });
  const [settings, setSettings] = useState(INITIAL_SETTINGS);
  return (
    <div style={{ padding: 16, display: 'flex', flexDirection: 'column', gap: 24, width: 1040 }}>
      <section id="query-editor" style={{ padding: 8 }}>
        <QueryEditor datasource={datasource} query={query} onChange={setQuery} onRunQuery={() => {}} />
        <pre id="query-json" style={{ marginTop: 8 }}>
          {JSON.stringify(query)}
        </pre>
      </section>
      <section id="query-editor-explore" style={{ padding: 8 }}>
        <QueryEditor
          app={CoreApp.Explore}
          datasource={datasource}
          query={exploreQuery}
          onChange={setExploreQuery}
          onRunQuery={() => {}}
        />
      </section>
      <section id="config-editor" style={{ padding: 8, maxWidth: 900 }}>
        <ConfigEditor options={settings} onOptionsChange={setSettings} />
      </section>
    </div>
  );
}

const theme = createTheme({ colors: { mode: 'dark' } });
createRoot(document.getElementById('root')!).render(
  <ThemeContext.Provider value={theme}>
    <GlobalStyles />
    <Page />
  </ThemeContext.Provider>
);
