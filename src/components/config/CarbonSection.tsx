import React from 'react';
import { ConfigSection, ConfigSubSection } from '@grafana/plugin-ui';
import { Button, Text } from '@grafana/ui';

import { CarbonSettings, DEFAULT_SITES, EmbodiedGPU, SETTINGS_DEFAULTS, Site } from '../../types';
import { labelNameError, rangeError, regexError } from '../../validation';
import { Setting, Settings } from './fields';
import { Column, SettingsTable } from './SettingsTable';

const SITE_COLUMNS: Array<Column<Site>> = [
  { key: 'name', label: 'Site', type: 'text', width: 16, placeholder: 'e.g. UCSD' },
  {
    key: 'hostPattern',
    label: 'Host pattern (regex)',
    type: 'text',
    width: 48,
    placeholder: 'e.g. ucsd\\.edu',
    validate: regexError,
  },
  {
    key: 'intensity',
    label: 'gCO₂/kWh',
    type: 'number',
    width: 12,
    validate: (intensity) => rangeError(intensity, 0, 2000, 'gCO₂/kWh'),
  },
  {
    key: 'pue',
    label: 'PUE',
    type: 'number',
    width: 8,
    placeholder: 'fleet',
    validate: (pue) => rangeError(pue, 1, 5, 'PUE'),
  },
  {
    key: 'intensityQuery',
    label: 'Live gCO₂/kWh (PromQL)',
    type: 'text',
    width: 40,
    placeholder: 'optional, e.g. grid_intensity_carbon_actual{region="US-CAL-CISO"}',
  },
  // Cost: the site's electricity price, in the currency of the Cost section.
  {
    key: 'pricePerKWh',
    label: 'Price per kWh',
    type: 'number',
    width: 12,
    placeholder: 'default',
    validate: (price) => rangeError(price, 0, 1e6, 'per kWh'),
  },
];

const EMBODIED_COLUMNS: Array<Column<EmbodiedGPU>> = [
  { key: 'gpuType', label: 'GPU type', type: 'text', width: 32, placeholder: 'e.g. NVIDIA A100-SXM4-80GB' },
  {
    key: 'kgCO2e',
    label: 'kgCO₂e per GPU',
    type: 'number',
    width: 14,
    validate: (kg) => (kg !== undefined && kg <= 0 ? 'Must be above 0 (kgCO₂e).' : rangeError(kg, 0, 100000, 'kgCO₂e')),
  },
];

const GRID_SETTINGS: Array<Setting<CarbonSettings>> = [
  {
    key: 'intensityQuery',
    kind: 'text',
    label: 'Live grid intensity',
    tooltip:
      "PromQL for the grid's carbon intensity in gCO₂/kWh, one series per site (e.g. the grid-intensity-exporter's grid_intensity_carbon_actual). CO₂ then follows it step by step; the site table applies where a site has no series.",
    placeholder: 'optional',
  },
  {
    key: 'intensitySiteLabel',
    kind: 'text',
    label: 'Site label',
    tooltip: "The label of the live intensity's series whose value is a site's name (e.g. region).",
    placeholder: SETTINGS_DEFAULTS.intensitySiteLabel,
    validate: labelNameError,
  },
];

const EMBODIED_SETTINGS: Array<Setting<CarbonSettings>> = [
  {
    key: 'serviceLifeYears',
    kind: 'number',
    label: 'GPU service life (years)',
    tooltip: 'The years a GPU serves: its embodied carbon is spread over them (per GPU-hour held).',
    placeholder: 'e.g. 4',
    validate: (years) => rangeError(years, 0, 30, 'years'),
  },
];

const CARBON_SETTINGS: Array<Setting<CarbonSettings>> = [
  {
    key: 'pue',
    kind: 'number',
    label: 'PUE',
    tooltip: 'Power usage effectiveness of the data centre: facility energy over IT energy (1 = none added).',
    placeholder: String(SETTINGS_DEFAULTS.pue),
    validate: (pue) => rangeError(pue, 1, 5, 'PUE'),
  },
  {
    key: 'defaultIntensity',
    kind: 'number',
    label: 'Default gCO₂/kWh',
    tooltip: 'Grid intensity of nodes no site matches (default: California CAMX, EPA eGRID 2022).',
    placeholder: String(SETTINGS_DEFAULTS.defaultIntensity),
    validate: (intensity) => rangeError(intensity, 0, 2000, 'gCO₂/kWh'),
  },
];

interface Props {
  carbon: CarbonSettings;
  onChange: (carbon: CarbonSettings) => void;
}

/** PUE and grid intensity that turn energy into CO₂ (sites pick them by the node's host name), the grid's live
 * intensity, and the GPUs' embodied carbon. */
export function CarbonSection({ carbon, onChange }: Props) {
  const set = (patch: Partial<CarbonSettings>) => onChange({ ...carbon, ...patch });
  const usingDefaultSites = carbon.sites === undefined;

  return (
    <ConfigSection
      title="Carbon"
      description="CO₂ = energy × PUE × grid intensity of the GPU's site (live where set, else the table's)."
      isCollapsible
      isInitiallyOpen={false}
    >
      <Settings idPrefix="fleet-carbon" settings={CARBON_SETTINGS} values={carbon} onChange={set} />
      <ConfigSubSection
        title="Sites"
        description={
          usingDefaultSites
            ? "NRP's sites (EPA eGRID 2022) apply until you edit this table."
            : 'The first site whose pattern matches the node name sets its intensity.'
        }
      >
        <SettingsTable<Site>
          name="Sites"
          columns={SITE_COLUMNS}
          rows={carbon.sites ?? DEFAULT_SITES}
          newRow={{ name: '', hostPattern: '', intensity: SETTINGS_DEFAULTS.defaultIntensity }}
          addLabel="Add site"
          onChange={(sites) => set({ sites })}
        />
        {!usingDefaultSites && (
          <Button variant="secondary" size="sm" fill="text" onClick={() => set({ sites: undefined })}>
            Reset to NRP sites
          </Button>
        )}
        {carbon.sites?.length === 0 && (
          <Text color="secondary" variant="bodySmall">
            No sites: every node uses the default intensity.
          </Text>
        )}
      </ConfigSubSection>
      <ConfigSubSection
        title="Carbon that follows the grid"
        description="Optional: the grid's live intensity per site; the table above is the fallback."
      >
        <Settings idPrefix="fleet-carbon" settings={GRID_SETTINGS} values={carbon} onChange={set} />
      </ConfigSubSection>
      <ConfigSubSection
        title="Embodied carbon"
        description="Optional: the carbon of making each GPU, for embodied CO₂ and the SCI per token. Without it those stay empty."
      >
        <SettingsTable<EmbodiedGPU>
          name="Embodied carbon"
          columns={EMBODIED_COLUMNS}
          rows={carbon.embodied ?? []}
          newRow={{ gpuType: '' }}
          addLabel="Add GPU type"
          onChange={(embodied) => set({ embodied: embodied.length ? embodied : undefined })}
        />
        <Settings idPrefix="fleet-carbon" settings={EMBODIED_SETTINGS} values={carbon} onChange={set} />
        {carbon.embodied?.length && !carbon.serviceLifeYears ? (
          <Text color="error" variant="bodySmall">
            Set the service life: embodied carbon is spread over it.
          </Text>
        ) : null}
      </ConfigSubSection>
    </ConfigSection>
  );
}
