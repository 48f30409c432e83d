import React from 'react';
import { QueryEditorProps } from '@grafana/data';
import { EditorField, EditorRow, EditorRows } from '@grafana/plugin-ui';
import { MultiCombobox } from '@grafana/ui';

import type { DataSource } from '../datasource';
import { FleetOptions, FleetQuery } from '../types';
import { EventsField } from './EventsField';
import { useModelOptions } from './modelOptions';

type Props = QueryEditorProps<DataSource, FleetQuery, FleetOptions>;

/** The annotation query: which events of which models to mark on the dashboard's time series panels. */
export function AnnotationEditor({ query, onChange, datasource }: Props) {
  const modelOptions = useModelOptions(datasource);
  const update = (patch: Partial<FleetQuery>) => {
    const next: FleetQuery = { ...query, ...patch, queryType: 'annotations' };
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) {
        delete next[key as keyof FleetQuery];
      }
    }
    onChange(next);
  };
  return (
    <EditorRows>
      <EditorRow>
        <EventsField id="fleet-annotation-events" value={query.events} onChange={(events) => update({ events })} />
        <EditorField
          label="Models"
          tooltip="Served models whose events to mark; none selected means every model."
          width={56}
        >
          <MultiCombobox<string>
            id="fleet-annotation-models"
            options={modelOptions}
            value={query.models ?? []}
            placeholder="All models"
            createCustomValue
            isClearable
            onChange={(selected) => update({ models: selected.length ? selected.map((o) => o.value) : undefined })}
          />
        </EditorField>
      </EditorRow>
    </EditorRows>
  );
}
