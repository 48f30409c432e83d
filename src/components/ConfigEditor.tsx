import React from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import {
  Auth,
  AuthMethod,
  ConfigSection,
  ConnectionSettings,
  convertLegacyAuthProps,
  DataSourceDescription,
} from '@grafana/plugin-ui';
import { Alert, Divider, InlineField, InlineSwitch } from '@grafana/ui';

import { FleetOptions, SETTINGS_DEFAULTS } from '../types';
import { rangeError, scrapeIntervalError } from '../validation';
import { CarbonSection } from './config/CarbonSection';
import { MappingSection } from './config/MappingSection';
import { OverridesSection } from './config/OverridesSection';
import { LABEL_WIDTH, NumberSetting, TextSetting } from './config/fields';

type Props = DataSourcePluginOptionsEditorProps<FleetOptions>;

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData } = options;
  const demo = jsonData.mode === 'demo';
  const setJson = (patch: Partial<FleetOptions>) => onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });

  return (
    <>
      <DataSourceDescription
        dataSourceName="GPU Fleet Efficiency"
        docsLink="https://github.com/nrp-nautilus/fleet-efficiency-datasource#readme"
        hasRequiredFields={!demo}
      />
      <Divider />

      <ConfigSection title="Data" description="Read the fleet from Prometheus, or try the plugin on a simulated fleet.">
        <InlineField
          label="Demo fleet"
          labelWidth={LABEL_WIDTH}
          tooltip="Answer every query from a built-in simulated fleet (like Grafana's TestData): no Prometheus needed."
        >
          <InlineSwitch
            id="fleet-demo-mode"
            value={demo}
            onChange={(e) => setJson({ mode: e.currentTarget.checked ? 'demo' : 'prometheus' })}
          />
        </InlineField>
        {demo && (
          <NumberSetting
            id="fleet-demo-seed"
            label="Demo seed"
            tooltip="Seed of the simulated fleet: the same seed gives the same fleet."
            placeholder="0"
            value={jsonData.demoSeed}
            onChange={(demoSeed) => setJson({ demoSeed })}
          />
        )}
      </ConfigSection>

      {demo ? (
        <Alert severity="info" title="Demo fleet">
          Queries answer from a simulated fleet; the Prometheus connection below is not used until the demo switch is
          off.
        </Alert>
      ) : (
        <>
          <Divider />
          <ConnectionSettings
            config={options}
            onChange={onOptionsChange}
            urlPlaceholder="http://prometheus:9090"
            urlTooltip="The Prometheus (or compatible) server that scrapes dcgm-exporter and vLLM."
          />
          <Divider />
          <Auth
            {...convertLegacyAuthProps({ config: options, onChange: onOptionsChange })}
            visibleMethods={[AuthMethod.NoAuth, AuthMethod.BasicAuth, AuthMethod.OAuthForward]}
          />
        </>
      )}

      <Divider />
      <ConfigSection title="Prometheus" description="How the plugin queries the server." isCollapsible isInitiallyOpen>
        <TextSetting
          id="fleet-scrape-interval"
          label="Scrape interval"
          tooltip="How often Prometheus scrapes dcgm-exporter and vLLM; the smallest step and rate window."
          placeholder={SETTINGS_DEFAULTS.scrapeInterval}
          value={jsonData.scrapeInterval}
          error={scrapeIntervalError(jsonData.scrapeInterval)}
          onChange={(scrapeInterval) => setJson({ scrapeInterval })}
        />
        <NumberSetting
          id="fleet-timeout"
          label="Timeout (s)"
          tooltip="Deadline of one request to the server."
          placeholder={String(SETTINGS_DEFAULTS.timeoutSeconds)}
          value={jsonData.timeoutSeconds}
          error={rangeError(jsonData.timeoutSeconds, 1, 600, 's')}
          onChange={(timeoutSeconds) => setJson({ timeoutSeconds })}
        />
        <TextSetting
          id="fleet-engine"
          label="Engine"
          tooltip="The server's flavour (Prometheus, VictoriaMetrics...); auto detects it from its build info."
          placeholder={SETTINGS_DEFAULTS.engine}
          value={jsonData.engine}
          onChange={(engine) => setJson({ engine })}
        />
        <TextSetting
          id="fleet-tenant"
          label="Tenant ID"
          tooltip="Sent as X-Scope-OrgID to multi-tenant servers (Mimir, Cortex, Thanos)."
          placeholder="none"
          value={jsonData.tenantId}
          onChange={(tenantId) => setJson({ tenantId })}
        />
        <NumberSetting
          id="fleet-cache-ttl"
          label="Cache TTL (s)"
          tooltip="How long answers from the server are reused; 0 disables the cache."
          placeholder="0"
          value={jsonData.cacheTTLSeconds}
          error={rangeError(jsonData.cacheTTLSeconds, 0, Number.MAX_SAFE_INTEGER, 's')}
          onChange={(cacheTTLSeconds) => setJson({ cacheTTLSeconds })}
        />
      </ConfigSection>

      <Divider />
      <MappingSection mapping={jsonData.mapping ?? {}} onChange={(mapping) => setJson({ mapping })} />
      <Divider />
      <CarbonSection carbon={jsonData.carbon ?? {}} onChange={(carbon) => setJson({ carbon })} />
      <Divider />
      <OverridesSection jsonData={jsonData} onChange={setJson} />
    </>
  );
}
