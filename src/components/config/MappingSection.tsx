import React from 'react';
import { ConfigSection } from '@grafana/plugin-ui';
import { InlineField, RadioButtonGroup } from '@grafana/ui';

import { DEFAULT_MAPPING, Mapping, SGLANG_MAPPING } from '../../types';
import { labelNameError, metricNameError } from '../../validation';
import { LABEL_WIDTH, Setting, Settings } from './fields';

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
type LabelField = 'gpuTypeLabel' | 'modelLabel' | 'namespaceLabel' | 'gpuModelLabel';

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
    key: 'namespaceLabel',
    label: 'Namespace label',
    tooltip: "Label of the token series naming the model's namespace (the team), for grouping by namespace.",
  },
  {
    key: 'gpuModelLabel',
    label: 'Model label on GPUs',
    tooltip: 'A label on the GPU series that already names the model; set it to skip the join.',
    placeholder: 'none (join)',
  },
];

// Names of the mapping, each checked as Prometheus would; empty ones take the standard mapping's.
const NAME_SETTINGS: Array<Setting<Mapping>> = [
  ...METRIC_FIELDS.map(({ key, label, tooltip }) => ({
    key,
    kind: 'text' as const,
    label,
    tooltip,
    placeholder: DEFAULT_MAPPING[key],
    validate: metricNameError,
  })),
  ...LABEL_FIELDS.map(({ key, label, tooltip, placeholder }) => ({
    key,
    kind: 'text' as const,
    label,
    tooltip,
    placeholder: placeholder ?? DEFAULT_MAPPING[key as Exclude<LabelField, 'gpuModelLabel'>],
    validate: labelNameError,
  })),
  {
    key: 'hostLabels',
    kind: 'list',
    label: 'Host labels',
    tooltip: "Labels naming the GPU's node, tried in order (dcgm-exporter renamed Hostname to hostname).",
    placeholder: DEFAULT_MAPPING.hostLabels.join(', '),
    validate: listError,
  },
  {
    key: 'joinLabels',
    kind: 'list',
    label: 'Join labels',
    tooltip: 'Labels shared by a GPU series and the token series of the pod using it.',
    placeholder: DEFAULT_MAPPING.joinLabels.join(', '),
    validate: listError,
  },
];

const FILTER_SETTINGS: Array<Setting<Mapping>> = [
  {
    key: 'labelFilter',
    kind: 'text',
    label: 'Label filter',
    tooltip: 'Matchers added to every selector, e.g. cluster="nrp".',
    placeholder: 'e.g. cluster="nrp"',
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
      <Settings idPrefix="fleet-mapping" settings={NAME_SETTINGS} values={mapping} onChange={set} />
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
      <Settings idPrefix="fleet-mapping" settings={FILTER_SETTINGS} values={mapping} onChange={set} />
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
