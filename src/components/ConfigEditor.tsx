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
import { Alert, Combobox, ComboboxOption, Divider, InlineField, InlineSwitch } from '@grafana/ui';

import { Engine, ENGINE_LABELS, ENGINES, FleetOptions, SETTINGS_DEFAULTS } from '../types';
import { metricNameError, rangeError, scrapeIntervalError } from '../validation';
import { CarbonSection } from './config/CarbonSection';
import { MappingSection } from './config/MappingSection';
import { OverridesSection } from './config/OverridesSection';
import { LABEL_WIDTH, NumberSetting, TextSetting } from './config/fields';

type Props = DataSourcePluginOptionsEditorProps<FleetOptions>;

const ENGINE_OPTIONS: Array<ComboboxOption<Engine>> = ENGINES.map((value) => ({ value, label: ENGINE_LABELS[value] }));

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
        <InlineField
          label="Engine"
          labelWidth={LABEL_WIDTH}
          tooltip="The server behind the URL. Thanos is asked to deduplicate, answer partially (shown as a notice) and read downsampled data; VictoriaMetrics gets counter windows for its rate(). Auto-detect reads the server's build info."
        >
          <Combobox<Engine>
            id="fleet-engine"
            width={24}
            options={ENGINE_OPTIONS}
            value={jsonData.engine ?? SETTINGS_DEFAULTS.engine}
            onChange={(option) => setJson({ engine: option.value })}
          />
        </InlineField>
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
        <InlineField
          label="Recorded series"
          labelWidth={LABEL_WIDTH}
          tooltip="Read the series of the recording rules that fleetrules writes wherever they cover a panel's window: far fewer samples for large fleets and long ranges."
        >
          <InlineSwitch
            id="fleet-recording-rules"
            value={jsonData.recordingRules !== 'off'}
            onChange={(e) => setJson({ recordingRules: e.currentTarget.checked ? undefined : 'off' })}
          />
        </InlineField>
        {jsonData.recordingRules !== 'off' && (
          <TextSetting
            id="fleet-recorded-prefix"
            label="Recorded prefix"
            tooltip="First part of the recorded series' names, as in fleetrules -prefix: fleet reads fleet:gpu_energy_joules:increase1m and the others."
            placeholder={SETTINGS_DEFAULTS.recordedPrefix}
            value={jsonData.recordedPrefix}
            error={metricNameError(jsonData.recordedPrefix)}
            onChange={(recordedPrefix) => setJson({ recordedPrefix })}
          />
        )}
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
