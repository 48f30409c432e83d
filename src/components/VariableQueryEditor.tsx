import React from 'react';
import { QueryEditorProps } from '@grafana/data';
import { EditorField, EditorRow } from '@grafana/plugin-ui';
import { RadioButtonGroup } from '@grafana/ui';

import type { DataSource } from '../datasource';
import { DEFAULT_VARIABLE_RESOURCE, FleetOptions, FleetQuery, FleetVariableQuery, VariableResource } from '../types';

type Props = QueryEditorProps<DataSource, FleetQuery, FleetOptions, FleetVariableQuery>;

const RESOURCE_OPTIONS: Array<{ label: string; value: VariableResource; description: string }> = [
  { label: 'Models', value: 'models', description: 'Served models found in the fleet' },
  { label: 'GPU types', value: 'gpu-types', description: 'GPU product names (modelName label)' },
  { label: 'Namespaces', value: 'namespaces', description: 'Kubernetes namespaces of the GPUs' },
];

/** Editor of a dashboard variable that lists models, GPU types or namespaces. */
export function VariableQueryEditor({ query, onChange }: Props) {
  return (
    <EditorRow>
      <EditorField label="Values" tooltip="What the variable lists, as the data source finds them now">
        <RadioButtonGroup<VariableResource>
          options={RESOURCE_OPTIONS}
          value={query.resource || DEFAULT_VARIABLE_RESOURCE}
          onChange={(resource) => onChange({ ...query, refId: query.refId ?? 'variable', resource })}
        />
      </EditorField>
    </EditorRow>
  );
}
