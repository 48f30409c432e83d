import React from 'react';
import { ConfigSection, ConfigSubSection } from '@grafana/plugin-ui';

import { FleetOptions, GPUOverride, IdleFloor, ModelSize } from '../../types';
import { rangeError } from '../../validation';
import { Column, SettingsTable } from './SettingsTable';

const required = (value: unknown) => (value === undefined || value === '' ? 'Fill in every column.' : undefined);

const IDLE_FLOOR_COLUMNS: Array<Column<IdleFloor>> = [
  { key: 'gpuType', label: 'GPU type', type: 'text', width: 32, placeholder: 'e.g. NVIDIA A100-SXM4-80GB', validate: required },
  {
    key: 'watts',
    label: 'Idle floor (W)',
    type: 'number',
    width: 14,
    validate: (watts) => required(watts) ?? rangeError(watts, 1, 2000, 'W'),
  },
];

const GPU_COLUMNS: Array<Column<GPUOverride>> = [
  { key: 'gpuType', label: 'GPU type', type: 'text', width: 32, placeholder: 'e.g. NVIDIA L40S', validate: required },
  { key: 'memoryGB', label: 'Memory (GB)', type: 'number', width: 12, validate: required },
  { key: 'tdpW', label: 'TDP (W)', type: 'number', width: 12 },
  { key: 'parkedW', label: 'Parked (W)', type: 'number', width: 12 },
];

const MODEL_SIZE_COLUMNS: Array<Column<ModelSize>> = [
  { key: 'model', label: 'Model', type: 'text', width: 32, placeholder: 'served model name', validate: required },
  { key: 'paramsB', label: 'Parameters (B)', type: 'number', width: 14, validate: required },
  { key: 'dtype', label: 'Weights dtype', type: 'text', width: 14, placeholder: 'bf16, fp8, int4…' },
];

interface Props {
  jsonData: FleetOptions;
  onChange: (patch: Partial<FleetOptions>) => void;
}

/** Corrections to the built-in catalogs: idle floors, GPU types and model sizes. */
export function OverridesSection({ jsonData, onChange }: Props) {
  return (
    <ConfigSection
      title="Catalog overrides"
      description="Measured idle floors and the GPU and model catalogs cover the common cases; correct them here."
      isCollapsible
      isInitiallyOpen={false}
    >
      <ConfigSubSection
        title="Idle floors"
        description="Watts a GPU of this type draws with a model loaded and no traffic; overrides measured values."
      >
        <SettingsTable<IdleFloor>
          name="Idle floors"
          columns={IDLE_FLOOR_COLUMNS}
          rows={jsonData.idleFloors ?? []}
          newRow={{ gpuType: '' }}
          addLabel="Add idle floor"
          onChange={(idleFloors) => onChange({ idleFloors })}
        />
      </ConfigSubSection>
      <ConfigSubSection title="GPU types" description="GPUs the catalog lacks or gets wrong.">
        <SettingsTable<GPUOverride>
          name="GPU types"
          columns={GPU_COLUMNS}
          rows={jsonData.gpus ?? []}
          newRow={{ gpuType: '' }}
          addLabel="Add GPU type"
          onChange={(gpus) => onChange({ gpus })}
        />
      </ConfigSubSection>
      <ConfigSubSection
        title="Model sizes"
        description="Models whose size neither the catalog nor the name tells; MoE models count all experts."
      >
        <SettingsTable<ModelSize>
          name="Model sizes"
          columns={MODEL_SIZE_COLUMNS}
          rows={jsonData.modelSizes ?? []}
          newRow={{ model: '' }}
          addLabel="Add model size"
          onChange={(modelSizes) => onChange({ modelSizes })}
        />
      </ConfigSubSection>
    </ConfigSection>
  );
}
