import React from 'react';
import { ConfigSection, ConfigSubSection } from '@grafana/plugin-ui';
import { Button, Text } from '@grafana/ui';

import { CarbonSettings, DEFAULT_SITES, SETTINGS_DEFAULTS, Site } from '../../types';
import { rangeError, regexError } from '../../validation';
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

/** PUE and grid intensity that turn energy into CO₂; sites pick the intensity by the node's host name. */
export function CarbonSection({ carbon, onChange }: Props) {
  const set = (patch: Partial<CarbonSettings>) => onChange({ ...carbon, ...patch });
  const usingDefaultSites = carbon.sites === undefined;

  return (
    <ConfigSection
      title="Carbon"
      description="CO₂ = energy × PUE × grid intensity of the GPU's site."
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
    </ConfigSection>
  );
}
