import React from 'react';
import { ConfigSection } from '@grafana/plugin-ui';
import { InlineField, RadioButtonGroup } from '@grafana/ui';

import { DEFAULT_MAPPING, Mapping, SGLANG_MAPPING } from '../../types';
import { labelNameError, metricNameError } from '../../validation';
import { LABEL_WIDTH, ListSetting, TextSetting } from './fields';

const PRESETS = {
  standard: { label: 'dcgm-exporter + vLLM', mapping: DEFAULT_MAPPING },
  sglang: { label: 'SGLang', mapping: SGLANG_MAPPING },
};
type Preset = keyof typeof PRESETS;

const JOIN_MODES: Array<{ value: NonNullable<Mapping['joinMode']>; label: string; description: string }> = [
  { value: 'auto', label: 'Auto', description: 'Use exported_* labels where the scrape renamed them' },
  { value: 'direct', label: 'Direct', description: 'Join on the labels as given' },
  { value: 'exported', label: 'Exported', description: 'Always join on exported_<label>' },
];

type MetricField = 'powerMetric' | 'energyMetric' | 'powerLimitMetric' | 'promptTokensMetric' | 'generationTokensMetric';
type LabelField = 'gpuTypeLabel' | 'modelLabel' | 'gpuModelLabel';

const METRIC_FIELDS: Array<{ key: MetricField; label: string; tooltip: string }> = [
  { key: 'powerMetric', label: 'GPU power (W)', tooltip: 'Gauge in watts, one series per GPU.' },
  {
    key: 'energyMetric',
    label: 'GPU energy (mJ)',
    tooltip: 'Counter in millijoules; when present, energy over a window is exact. Missing is fine.',
  },
  { key: 'powerLimitMetric', label: 'GPU power limit (W)', tooltip: 'Tells when a GPU is power-capped.' },
  { key: 'promptTokensMetric', label: 'Prompt tokens', tooltip: 'Counter of prompt tokens, labelled by model.' },
  { key: 'generationTokensMetric', label: 'Generation tokens', tooltip: 'Counter of generated tokens, labelled by model.' },
];

const LABEL_FIELDS: Array<{ key: LabelField; label: string; tooltip: string; placeholder?: string }> = [
  { key: 'gpuTypeLabel', label: 'GPU type label', tooltip: 'Label of the GPU series naming the GPU product.' },
  { key: 'modelLabel', label: 'Model label', tooltip: 'Label of the token series naming the served model.' },
  {
    key: 'gpuModelLabel',
    label: 'Model label on GPUs',
    tooltip: 'A label on the GPU series that already names the model; set it to skip the join.',
    placeholder: 'none (join)',
  },
];

interface Props {
  mapping: Mapping;
  onChange: (mapping: Mapping) => void;
}

/** Which metrics and labels hold power, GPU type, tokens and the GPU-to-model join; defaults as placeholders. */
export function MappingSection({ mapping, onChange }: Props) {
  const set = (patch: Partial<Mapping>) => onChange({ ...mapping, ...patch });

  return (
    <ConfigSection
      title="Metric mapping"
      description="Metric and label names of your exporters. Empty fields use the standard dcgm-exporter + vLLM names."
      isCollapsible
      isInitiallyOpen
    >
      <InlineField label="Preset" labelWidth={LABEL_WIDTH} tooltip="Fill the mapping with the names an exporter uses.">
        <RadioButtonGroup<Preset>
          id="fleet-mapping-preset"
          options={Object.entries(PRESETS).map(([value, p]) => ({ value: value as Preset, label: p.label }))}
          value={matchingPreset(mapping)}
          onChange={(preset) => set(PRESETS[preset].mapping)}
        />
      </InlineField>
      {METRIC_FIELDS.map(({ key, label, tooltip }) => (
        <TextSetting
          key={key}
          id={`fleet-mapping-${key}`}
          label={label}
          tooltip={tooltip}
          placeholder={DEFAULT_MAPPING[key]}
          value={mapping[key]}
          error={metricNameError(mapping[key])}
          onChange={(value) => set({ [key]: value })}
        />
      ))}
      {LABEL_FIELDS.map(({ key, label, tooltip, placeholder }) => (
        <TextSetting
          key={key}
          id={`fleet-mapping-${key}`}
          label={label}
          tooltip={tooltip}
          placeholder={placeholder ?? DEFAULT_MAPPING[key as Exclude<LabelField, 'gpuModelLabel'>]}
          value={mapping[key]}
          error={labelNameError(mapping[key])}
          onChange={(value) => set({ [key]: value })}
        />
      ))}
      <ListSetting
        id="fleet-mapping-hostLabels"
        label="Host labels"
        tooltip="Labels naming the GPU's node, tried in order (dcgm-exporter renamed Hostname to hostname)."
        placeholder={DEFAULT_MAPPING.hostLabels.join(', ')}
        value={mapping.hostLabels}
        error={listError(mapping.hostLabels)}
        onChange={(hostLabels) => set({ hostLabels })}
      />
      <ListSetting
        id="fleet-mapping-joinLabels"
        label="Join labels"
        tooltip="Labels shared by a GPU series and the token series of the pod using it."
        placeholder={DEFAULT_MAPPING.joinLabels.join(', ')}
        value={mapping.joinLabels}
        error={listError(mapping.joinLabels)}
        onChange={(joinLabels) => set({ joinLabels })}
      />
      <InlineField
        label="Join mode"
        labelWidth={LABEL_WIDTH}
        tooltip="With honor_labels: false, Prometheus renames the workload's namespace/pod labels to exported_*."
      >
        <RadioButtonGroup
          id="fleet-mapping-joinMode"
          options={JOIN_MODES}
          value={mapping.joinMode ?? DEFAULT_MAPPING.joinMode}
          onChange={(joinMode) => set({ joinMode })}
        />
      </InlineField>
      <TextSetting
        id="fleet-mapping-labelFilter"
        label="Label filter"
        tooltip='Matchers added to every selector, e.g. cluster="nrp".'
        placeholder='e.g. cluster="nrp"'
        value={mapping.labelFilter}
        onChange={(labelFilter) => set({ labelFilter })}
      />
    </ConfigSection>
  );
}

/** The preset the mapping equals once defaults fill its empty fields, if any. */
function matchingPreset(mapping: Mapping): Preset | undefined {
  const effective = { ...DEFAULT_MAPPING, ...definedFields(mapping) };
  return (Object.keys(PRESETS) as Preset[]).find((preset) =>
    Object.entries(PRESETS[preset].mapping).every(
      ([key, value]) => JSON.stringify(effective[key as keyof typeof effective]) === JSON.stringify(value)
    )
  );
}

function definedFields(mapping: Mapping): Mapping {
  return Object.fromEntries(Object.entries(mapping).filter(([, v]) => v !== undefined && v !== ''));
}

function listError(labels?: string[]): string | undefined {
  return labels?.map(labelNameError).find(Boolean);
}
