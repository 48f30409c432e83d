import React from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { Button, IconButton, Input, Text, useStyles2 } from '@grafana/ui';

import { keyedError } from './fields';

interface ColumnOf<Row, K extends keyof Row & string> {
  key: K;
  label: string;
  type: 'text' | 'number';
  width: number;
  placeholder?: string;
  /** A message when the cell's value would be refused by the backend. */
  validate?: (value: Row[K]) => string | undefined;
}

/** One column of a row type, its validator typed by that column's value. */
export type Column<Row> = { [K in keyof Row & string]: ColumnOf<Row, K> }[keyof Row & string];

interface Props<Row> {
  /** Names the table for screen readers and in each cell's label ("Idle floors, row 2, Watts"). */
  name: string;
  columns: Array<Column<Row>>;
  rows: Row[];
  newRow: Row;
  addLabel: string;
  onChange: (rows: Row[]) => void;
}

/** A small editable table of settings rows: one input per cell, add and remove buttons. */
export function SettingsTable<Row extends object>({ name, columns, rows, newRow, addLabel, onChange }: Props<Row>) {
  const styles = useStyles2(getStyles);
  const setCell = (index: number, key: keyof Row, raw: string, type: 'text' | 'number') => {
    const value = type === 'number' ? (raw === '' ? undefined : Number(raw)) : raw;
    onChange(rows.map((row, i) => (i === index ? { ...row, [key]: value } : row)));
  };
  const errors = rows.map((row) =>
    columns.map((c) => keyedError(c, row)).filter((message): message is string => Boolean(message))
  );

  return (
    <div className={styles.wrapper}>
      {rows.length > 0 && (
        <table className={styles.table} aria-label={name}>
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c.key} className={styles.header}>
                  {c.label}
                </th>
              ))}
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((row, index) => (
              <React.Fragment key={index}>
                <tr>
                  {columns.map((c) => {
                    const value = row[c.key];
                    const message = keyedError(c, row);
                    return (
                      <td key={c.key} className={styles.cell}>
                        <Input
                          aria-label={`${name}, row ${index + 1}, ${c.label}`}
                          type={c.type}
                          width={c.width}
                          value={value === undefined || value === null ? '' : String(value)}
                          placeholder={c.placeholder}
                          invalid={Boolean(message)}
                          onChange={(e) => setCell(index, c.key, e.currentTarget.value, c.type)}
                        />
                      </td>
                    );
                  })}
                  <td className={styles.cell}>
                    <IconButton
                      name="trash-alt"
                      tooltip={`Remove row ${index + 1}`}
                      onClick={() => onChange(rows.filter((_, i) => i !== index))}
                    />
                  </td>
                </tr>
                {errors[index].length > 0 && (
                  <tr>
                    <td colSpan={columns.length + 1}>
                      <Text color="error" variant="bodySmall">
                        {errors[index].join(' ')}
                      </Text>
                    </td>
                  </tr>
                )}
              </React.Fragment>
            ))}
          </tbody>
        </table>
      )}
      <Button variant="secondary" size="sm" icon="plus" onClick={() => onChange([...rows, { ...newRow }])}>
        {addLabel}
      </Button>
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  wrapper: css({ marginBottom: theme.spacing(2) }),
  table: css({ marginBottom: theme.spacing(1), borderCollapse: 'separate', borderSpacing: theme.spacing(0.5, 0.5) }),
  header: css({
    textAlign: 'left',
    fontWeight: theme.typography.fontWeightMedium,
    color: theme.colors.text.secondary,
    fontSize: theme.typography.bodySmall.fontSize,
  }),
  cell: css({ verticalAlign: 'middle' }),
});
