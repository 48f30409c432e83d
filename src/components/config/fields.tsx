import React from 'react';
import { InlineField, Input, TagsInput } from '@grafana/ui';

export const LABEL_WIDTH = 26;
const INPUT_WIDTH = 48;

interface SettingProps<T> {
  id: string;
  label: string;
  tooltip: string;
  /** The backend's default, shown while the setting is empty. */
  placeholder: string;
  value?: T;
  error?: string;
  onChange: (value: T | undefined) => void;
}

/** A text setting; empty means the backend's default. */
export function TextSetting({ id, label, tooltip, placeholder, value, error, onChange }: SettingProps<string>) {
  return (
    <InlineField label={label} labelWidth={LABEL_WIDTH} tooltip={tooltip} invalid={Boolean(error)} error={error}>
      <Input
        id={id}
        width={INPUT_WIDTH}
        value={value ?? ''}
        placeholder={placeholder}
        onChange={(e) => onChange(e.currentTarget.value === '' ? undefined : e.currentTarget.value)}
      />
    </InlineField>
  );
}

/** A numeric setting; empty means the backend's default. */
export function NumberSetting({ id, label, tooltip, placeholder, value, error, onChange }: SettingProps<number>) {
  return (
    <InlineField label={label} labelWidth={LABEL_WIDTH} tooltip={tooltip} invalid={Boolean(error)} error={error}>
      <Input
        id={id}
        type="number"
        width={INPUT_WIDTH / 2}
        value={value ?? ''}
        placeholder={placeholder}
        onChange={(e) => onChange(e.currentTarget.value === '' ? undefined : Number(e.currentTarget.value))}
      />
    </InlineField>
  );
}

/** A list of label names; empty means the backend's default list. */
export function ListSetting({ id, label, tooltip, placeholder, value, error, onChange }: SettingProps<string[]>) {
  return (
    <InlineField label={label} labelWidth={LABEL_WIDTH} tooltip={tooltip} invalid={Boolean(error)} error={error}>
      <TagsInput
        id={id}
        width={INPUT_WIDTH}
        tags={value ?? []}
        placeholder={placeholder}
        addOnBlur
        onChange={(tags) => onChange(tags.length ? tags : undefined)}
      />
    </InlineField>
  );
}
