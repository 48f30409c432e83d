import React from 'react';
import { QueryEditorProps } from '@grafana/data';
import { EditorRow, EditorRows } from '@grafana/plugin-ui';

import type { DataSource } from '../datasource';
import { FleetOptions, FleetQuery } from '../types';
import { EventsField } from './EventsField';
import { ModelsField } from './ModelsField';

type Props = QueryEditorProps<DataSource, FleetQuery, FleetOptions>;

/** The annotation query: which events of which models to mark on the dashboard's time series panels. */
export function AnnotationEditor({ query, onChange, datasource }: Props) {
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
        <ModelsField
          id="fleet-annotation-models"
          datasource={datasource}
          tooltip="Served models whose events to mark; none selected means every model."
          width={56}
          value={query.models}
          onChange={(models) => update({ models })}
        />
      </EditorRow>
    </EditorRows>
  );
}
