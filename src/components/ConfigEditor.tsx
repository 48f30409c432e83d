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
import { config } from '@grafana/runtime';
import {
  Alert,
  Combobox,
  ComboboxOption,
  Divider,
  InlineField,
  InlineSwitch,
  SecureSocksProxySettings,
  TagsInput,
} from '@grafana/ui';

import { Engine, ENGINE_LABELS, ENGINES, FleetOptions, SETTINGS_DEFAULTS, SLOSettings } from '../types';
import { metricNameError, rangeError, scrapeIntervalError } from '../validation';
import { CarbonSection } from './config/CarbonSection';
import { CostSection } from './config/CostSection';
import { MappingSection } from './config/MappingSection';
import { OverridesSection } from './config/OverridesSection';
import { LABEL_WIDTH, Setting, Settings } from './config/fields';

type Props = DataSourcePluginOptionsEditorProps<FleetOptions>;

const ENGINE_OPTIONS: Array<ComboboxOption<Engine>> = ENGINES.map((value) => ({ value, label: ENGINE_LABELS[value] }));

// The recording rules' series, read where they cover a panel's window.
const RECORDED_SETTINGS: Array<Setting<FleetOptions>> = [
  {
    key: 'recordedPrefix',
    kind: 'text',
    label: 'Recorded prefix',
    tooltip:
      "First part of the recorded series' names, as in fleetrules -prefix: fleet reads fleet:gpu_energy_joules:increase1m and the others.",
    placeholder: SETTINGS_DEFAULTS.recordedPrefix,
    validate: metricNameError,
  },
];

const DEMO_SETTINGS: Array<Setting<FleetOptions>> = [
  {
    key: 'demoSeed',
    kind: 'number',
    label: 'Demo seed',
    tooltip: 'Seed of the simulated fleet: the same seed gives the same fleet.',
    placeholder: '0',
  },
];

// How the plugin asks: the scrape interval sets its steps and rate windows, the timeout bounds a request.
const REQUEST_SETTINGS: Array<Setting<FleetOptions>> = [
  {
    key: 'scrapeInterval',
    kind: 'text',
    label: 'Scrape interval',
    tooltip: 'How often Prometheus scrapes dcgm-exporter and vLLM; the smallest step and rate window.',
    placeholder: SETTINGS_DEFAULTS.scrapeInterval,
    validate: scrapeIntervalError,
  },
  {
    key: 'timeoutSeconds',
    kind: 'number',
    label: 'Timeout (s)',
    tooltip: 'Deadline of one request to the server.',
    placeholder: String(SETTINGS_DEFAULTS.timeoutSeconds),
    validate: (timeout) => rangeError(timeout, 1, 600, 's'),
  },
];

// Multi-tenant servers, and how long answers are reused.
const TENANT_AND_CACHE_SETTINGS: Array<Setting<FleetOptions>> = [
  {
    key: 'tenantId',
    kind: 'text',
    label: 'Tenant ID',
    tooltip: 'Sent as X-Scope-OrgID to multi-tenant servers (Mimir, Cortex, Thanos).',
    placeholder: 'none',
  },
  {
    key: 'cacheTTLSeconds',
    kind: 'number',
    label: 'Cache TTL (s)',
    tooltip: 'How long a read of the fleet answers other panels and refreshes of the same time range; 0 disables the cache.',
    placeholder: String(SETTINGS_DEFAULTS.cacheTTLSeconds),
    validate: (ttl) => rangeError(ttl, 0, Number.MAX_SAFE_INTEGER, 's'),
  },
];

// The latency right-sizing never trades away (docs/right-sizing.md); a query may override them.
const SLO_SETTINGS: Array<Setting<SLOSettings>> = [
  {
    key: 'ttftP95Seconds',
    kind: 'number',
    label: 'Time to first token p95 (s)',
    tooltip: 'No recommendation may push the p95 time to first token at the p95 traffic above this; 0 leaves it unchecked.',
    placeholder: String(SETTINGS_DEFAULTS.ttftP95Seconds),
    validate: (s) => rangeError(s, 0, 3600, 's'),
  },
  {
    key: 'itlP95Seconds',
    kind: 'number',
    label: 'Inter-token latency p95 (s)',
    tooltip: 'No recommendation may push the p95 inter-token latency at the p95 traffic above this; 0 leaves it unchecked.',
    placeholder: String(SETTINGS_DEFAULTS.itlP95Seconds),
    validate: (s) => rangeError(s, 0, 60, 's'),
  },
];

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData } = options;
  const demo = jsonData.mode === 'demo';
  const setJson = (patch: Partial<FleetOptions>) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });

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
        {demo && <Settings idPrefix="fleet" settings={DEMO_SETTINGS} values={jsonData} onChange={setJson} />}
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
          <Divider />
          {/* Grafana's Prometheus data source offers these too; its timeout is the plugin's own (below). */}
          <ConfigSection
            title="Advanced HTTP settings"
            isCollapsible
            isInitiallyOpen={Boolean(jsonData.keepCookies?.length || jsonData.enableSecureSocksProxy)}
          >
            <InlineField
              label="Allowed cookies"
              htmlFor="fleet-keep-cookies"
              labelWidth={LABEL_WIDTH}
              tooltip="Grafana drops the user's cookies from requests to the data source; those named here reach Prometheus."
            >
              <TagsInput
                id="fleet-keep-cookies"
                placeholder="New cookie (hit enter to add)"
                tags={jsonData.keepCookies}
                onChange={(keepCookies) => setJson({ keepCookies })}
              />
            </InlineField>
            {config.secureSocksDSProxyEnabled && (
              <SecureSocksProxySettings options={options} onOptionsChange={onOptionsChange} />
            )}
          </ConfigSection>
        </>
      )}

      <Divider />
      <ConfigSection title="Prometheus" description="How the plugin queries the server." isCollapsible isInitiallyOpen>
        <Settings idPrefix="fleet" settings={REQUEST_SETTINGS} values={jsonData} onChange={setJson} />
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
        <Settings idPrefix="fleet" settings={TENANT_AND_CACHE_SETTINGS} values={jsonData} onChange={setJson} />
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
          <Settings idPrefix="fleet" settings={RECORDED_SETTINGS} values={jsonData} onChange={setJson} />
        )}
      </ConfigSection>

      <Divider />
      <MappingSection mapping={jsonData.mapping ?? {}} onChange={(mapping) => setJson({ mapping })} />
      <Divider />
      <CarbonSection carbon={jsonData.carbon ?? {}} onChange={(carbon) => setJson({ carbon })} />
      <Divider />
      <CostSection cost={jsonData.cost ?? {}} onChange={(cost) => setJson({ cost })} />
      <Divider />
      <ConfigSection
        title="Latency SLOs"
        description="Right-sizing keeps these at the p95 traffic, where the serving engine exports its latency histograms."
        isCollapsible
        isInitiallyOpen={false}
      >
        <Settings
          idPrefix="fleet-slo"
          settings={SLO_SETTINGS}
          values={jsonData.slo ?? {}}
          onChange={(patch) => setJson({ slo: { ...jsonData.slo, ...patch } })}
        />
      </ConfigSection>
      <Divider />
      <OverridesSection jsonData={jsonData} onChange={setJson} />
    </>
  );
}
