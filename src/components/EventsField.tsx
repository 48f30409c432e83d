import React from 'react';
import { EditorField } from '@grafana/plugin-ui';
import { MultiCombobox } from '@grafana/ui';

import { EVENT_KINDS, EVENT_LABELS, EventKind } from '../types';

const EVENT_OPTIONS = EVENT_KINDS.map((value) => ({ value, label: EVENT_LABELS[value] }));

interface Props {
  id: string;
  value?: EventKind[];
  /** undefined: none chosen, the backend marks every kind */
  onChange: (events: EventKind[] | undefined) => void;
}

/** The kinds of events an annotation marks; none chosen means all of them. */
export function EventsField({ id, value, onChange }: Props) {
  return (
    <EditorField label="Events" tooltip="Which events to mark; none selected means all of them." width={40}>
      <MultiCombobox<EventKind>
        id={id}
        options={EVENT_OPTIONS}
        value={value ?? []}
        placeholder="All events"
        isClearable
        onChange={(selected) => onChange(selected.length ? selected.map((o) => o.value) : undefined)}
      />
    </EditorField>
  );
}
