import React from 'react';
import { EditorField } from '@grafana/plugin-ui';
import { MultiCombobox } from '@grafana/ui';

import type { DataSource } from '../datasource';
import { useModelOptions } from './modelOptions';

interface Props {
  id: string;
  datasource: DataSource;
  tooltip: string;
  width: number;
  value?: string[];
  /** undefined: none chosen, every model */
  onChange: (models: string[] | undefined) => void;
}

/** The served models to include, picked from the backend's list or typed; none means every model. */
export function ModelsField({ id, datasource, tooltip, width, value, onChange }: Props) {
  const options = useModelOptions(datasource);
  return (
    <EditorField label="Models" tooltip={tooltip} width={width}>
      <MultiCombobox<string>
        id={id}
        options={options}
        value={value ?? []}
        placeholder="All models"
        createCustomValue
        isClearable
        // No width of its own: MultiCombobox (12.4) would count pills against it as pixels and hide all but
        // one. It fills the field and measures that; each pill costs its text + 50 px.
        onChange={(selected) => onChange(selected.length ? selected.map((o) => o.value) : undefined)}
      />
    </EditorField>
  );
}
