import React from 'react';
import { ConfigSection, ConfigSubSection } from '@grafana/plugin-ui';

import { CostSettings, GPUPrice } from '../../types';
import { rangeError } from '../../validation';
import { Setting, Settings } from './fields';
import { Column, SettingsTable } from './SettingsTable';

/** The backend bounds every price (pkg/models/cost.go). */
const MAX_PRICE = 1e6;

/** The shape of an ISO 4217 code; the backend checks that the code exists. */
export function currencyError(code?: string): string | undefined {
  return code === undefined || /^[A-Z]{3}$/.test(code) ? undefined : 'An ISO 4217 code in capitals, e.g. USD or EUR.';
}

const COST_SETTINGS: Array<Setting<CostSettings>> = [
  {
    key: 'currency',
    kind: 'text',
    label: 'Currency',
    tooltip: 'ISO 4217 code every price is in (e.g. USD); panels show the money fields in it.',
    placeholder: 'e.g. USD',
    validate: currencyError,
  },
  {
    key: 'defaultPricePerKWh',
    kind: 'number',
    label: 'Default price per kWh',
    tooltip: 'Electricity price of nodes no site matches and of sites without a price (Carbon → Sites). Empty: none.',
    placeholder: 'none',
    validate: (price) => rangeError(price, 0, MAX_PRICE, 'per kWh'),
  },
];

const GPU_PRICE_COLUMNS: Array<Column<GPUPrice>> = [
  { key: 'gpuType', label: 'GPU type', type: 'text', width: 36, placeholder: 'e.g. NVIDIA A100-SXM4-80GB' },
  {
    key: 'costPerHour',
    label: 'Cost per GPU-hour',
    type: 'number',
    width: 16,
    validate: (cost) => rangeError(cost, 0, MAX_PRICE, 'per hour'),
  },
];

interface Props {
  cost: CostSettings;
  onChange: (cost: CostSettings) => void;
}

/** Prices that turn energy and GPU-hours into money. Nothing is priced until set: no made-up defaults. */
export function CostSection({ cost, onChange }: Props) {
  const set = (patch: Partial<CostSettings>) => onChange({ ...cost, ...patch });
  return (
    <ConfigSection
      title="Cost"
      description="Cost = energy × PUE × the site's price per kWh + GPUs held × their hourly cost. Unset prices leave the cost fields empty."
      isCollapsible
      isInitiallyOpen={false}
    >
      <Settings idPrefix="fleet-cost" settings={COST_SETTINGS} values={cost} onChange={set} />
      <ConfigSubSection
        title="GPU costs"
        description="What one GPU of a type costs per hour held, idle or busy: amortised hardware or a cloud list price."
      >
        <SettingsTable<GPUPrice>
          name="GPU costs"
          columns={GPU_PRICE_COLUMNS}
          rows={cost.gpus ?? []}
          newRow={{ gpuType: '' }}
          addLabel="Add GPU cost"
          onChange={(gpus) => set({ gpus: gpus.length ? gpus : undefined })}
        />
      </ConfigSubSection>
    </ConfigSection>
  );
}
