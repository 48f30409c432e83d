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

/** The kind of input a setting's value takes. */
type KindOf<V> =
  NonNullable<V> extends string
    ? 'text'
    : NonNullable<V> extends number
      ? 'number'
      : NonNullable<V> extends string[]
        ? 'list'
        : never;

interface SettingOf<T, K extends keyof T & string> {
  key: K;
  kind: KindOf<T[K]>;
  label: string;
  tooltip: string;
  /** The backend's default, shown while the setting is empty. */
  placeholder: string;
  /** A message when the value would be refused by the backend. */
  validate?: (value: T[K]) => string | undefined;
}

/** One setting of an object of settings, its input kind and validator typed by that key's value. */
export type Setting<T> = { [K in keyof T & string]-?: SettingOf<T, K> }[keyof T & string];

const INPUTS = { text: TextSetting, number: NumberSetting, list: ListSetting };

/** Why a keyed value would be refused, by its validator (a setting's, a table column's). */
export function keyedError<T>(field: { key: keyof T; validate?: unknown }, values: T): string | undefined {
  // The mapped types pair key and validator; TypeScript cannot follow that through the union.
  const validate = field.validate as ((value: unknown) => string | undefined) | undefined;
  return validate?.(values[field.key]);
}

interface SettingsProps<T> {
  /** Prefix of the inputs' ids, followed by each setting's key. */
  idPrefix: string;
  settings: Array<Setting<T>>;
  values: T;
  /** Receives the changed setting alone, under its key. */
  onChange: (patch: Partial<T>) => void;
}

/** Settings of one object (jsonData, its mapping, its carbon settings), each shown by its kind; empty means the
 * backend's default. */
export function Settings<T extends object>({ idPrefix, settings, values, onChange }: SettingsProps<T>) {
  return (
    <>
      {settings.map((setting) => {
        // Each kind's input takes the value type KindOf paired with it.
        const Input = INPUTS[setting.kind] as (props: SettingProps<unknown>) => React.JSX.Element;
        return (
          <Input
            key={setting.key}
            id={`${idPrefix}-${setting.key}`}
            label={setting.label}
            tooltip={setting.tooltip}
            placeholder={setting.placeholder}
            value={values[setting.key]}
            error={keyedError(setting, values)}
            onChange={(value) => onChange({ [setting.key]: value } as Partial<T>)}
          />
        );
      })}
    </>
  );
}
