import React, { useState } from 'react';
import { CoreApp, QueryEditorProps } from '@grafana/data';
import { EditorField, EditorRow, EditorRows } from '@grafana/plugin-ui';
import { Combobox, ComboboxOption, Input, RadioButtonGroup, Text } from '@grafana/ui';

import type { DataSource } from '../datasource';
import {
  DEFAULT_QUERY_TYPE,
  FREED_GPU_CHOICES,
  FleetOptions,
  FleetQuery,
  GROUP_BY_CHOICES,
  GROUP_BY_LABELS,
  GroupBy,
  isQueryType,
  METRIC_LABELS,
  NumericOption,
  OPTION_DEFAULTS,
  QUERY_TYPE_INFO,
  QUERY_TYPES,
  QueryOption,
  QueryType,
  TIMESERIES_METRICS,
  TOKEN_KINDS,
  withQueryType,
} from '../types';
import { validateQuery } from '../validation';
import { EventsField } from './EventsField';
import { ModelsField } from './ModelsField';
import { withVariables } from './modelOptions';

type Props = QueryEditorProps<DataSource, FleetQuery, FleetOptions>;

const QUERY_TYPE_OPTIONS: Array<ComboboxOption<QueryType>> = QUERY_TYPES.map((value) => ({
  value,
  label: QUERY_TYPE_INFO[value].label,
  description: QUERY_TYPE_INFO[value].description,
}));

const TOKEN_OPTIONS = TOKEN_KINDS.map((value) => ({
  value,
  label: value === 'total' ? 'Prompt + generation' : 'Generation only',
  description: value === 'total' ? 'All tokens the model processed' : 'Only generated tokens (the ML.ENERGY convention)',
}));

const FREED_GPU_OPTIONS = FREED_GPU_CHOICES.map((value) => ({
  value,
  label: value === 'pool' ? 'Back to the pool' : 'Powered off',
  description:
    value === 'pool'
      ? 'A freed GPU still draws the idle power of an unallocated GPU'
      : 'A freed GPU draws nothing: its node is powered off',
}));

const GROUP_BY_OPTIONS: Array<ComboboxOption<GroupBy>> = GROUP_BY_CHOICES.map((value) => ({
  value,
  label: GROUP_BY_LABELS[value],
}));

const METRIC_OPTIONS: ComboboxOption[] = TIMESERIES_METRICS.map((value) => ({ value, label: METRIC_LABELS[value] }));

const NUMBER_FIELDS: Record<NumericOption, { label: string; tooltip: string }> = {
  idleThreshold: {
    label: 'Idle below (tok/s)',
    tooltip: 'A step with fewer tokens per second than this counts as idle and has no J/token.',
  },
  kvHeadroom: {
    label: 'KV-cache headroom',
    tooltip: 'Memory kept free for the KV cache, as a fraction of the weights (0.2 = 20%).',
  },
  trafficMargin: {
    label: 'Traffic margin',
    tooltip: 'Share of headroom the smaller allocation must keep above the observed peak (0.3 = 30%).',
  },
  minHistoryHours: {
    label: 'Min history (h)',
    tooltip: 'With less history than this in the time range, a model gets no right-sizing verdict.',
  },
  contextTokens: {
    label: 'Mean context (tokens)',
    tooltip: 'Tokens a running request holds in the KV cache on average (prompt + output so far): the batch that fits.',
  },
  ttftP95Seconds: {
    label: 'TTFT SLO p95 (s)',
    tooltip: "Time to first token a recommendation must keep at the p95 traffic; empty or 0 keeps the data source's.",
  },
  itlP95Seconds: {
    label: 'ITL SLO p95 (s)',
    tooltip: "Inter-token latency a recommendation must keep at the p95 traffic; empty or 0 keeps the data source's.",
  },
  spinDownIdleShare: {
    label: 'Spin down when idle for',
    tooltip: 'Share of the steps a model must be idle to become a spin-down candidate (0.95 = 95%).',
  },
};

const TYPE_SPECIFIC_NUMBERS: NumericOption[] = [
  'kvHeadroom',
  'trafficMargin',
  'minHistoryHours',
  'contextTokens',
  'ttftP95Seconds',
  'itlP95Seconds',
  'spinDownIdleShare',
];

export function QueryEditor({ query, onChange, onRunQuery, datasource, app }: Props) {
  const queryType = isQueryType(query.queryType) ? query.queryType : DEFAULT_QUERY_TYPE;
  const info = QUERY_TYPE_INFO[queryType];
  const uses = (option: QueryOption) => info.options.includes(option);
  const errors = validateQuery(query);
  const compact = app === CoreApp.Explore;
  const id = (option: string) => `fleet-${query.refId}-${option}`;

  // Sets (or, with undefined, removes so the default applies) one option; runs the query when it is valid.
  const update = (patch: Partial<FleetQuery>) => {
    const next: FleetQuery = { ...query, ...patch };
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) {
        delete next[key as keyof FleetQuery];
      }
    }
    onChange(next);
    if (Object.keys(validateQuery(next)).length === 0) {
      onRunQuery();
    }
  };

  const numberField = (option: NumericOption) => (
    <DraftInput
      key={option}
      id={id(option)}
      label={NUMBER_FIELDS[option].label}
      tooltip={NUMBER_FIELDS[option].tooltip}
      placeholder={String(OPTION_DEFAULTS[option])}
      value={query[option]}
      error={errors[option]}
      width={18}
      parse={parseNumber}
      onCommit={(value) => update({ [option]: value })}
    />
  );

  const typeField = (
    <EditorField
      label="Query type"
      tooltip={compact ? info.description : undefined}
      width={compact ? undefined : 26}
    >
      <Combobox<QueryType>
        id={id('queryType')}
        options={QUERY_TYPE_OPTIONS}
        value={queryType}
        width="auto"
        minWidth={compact ? 18 : 26}
        onChange={(option) => {
          onChange(withQueryType(query, option.value));
          onRunQuery();
        }}
      />
    </EditorField>
  );

  const modelFields = (
    <>
      <ModelsField
        id={id('models')}
        datasource={datasource}
        tooltip="Served models to include; none selected means every model."
        width={compact ? 40 : 56}
        value={query.models}
        onChange={(models) => update({ models })}
      />
      <DraftInput
        id={id('modelRegex')}
        label="Model regex"
        tooltip="Regular expression (Go RE2) the whole model name must match, e.g. gpt-oss.*|gemma.*. Combines with Models."
        placeholder="e.g. gpt-oss.*|gemma.*"
        value={query.modelRegex}
        error={errors.modelRegex}
        width={compact ? 20 : 26}
        parse={parseText}
        onCommit={(modelRegex) => update({ modelRegex })}
      />
    </>
  );

  const tokensField = (
    <EditorField label="Tokens" tooltip="Which tokens count when computing tokens/s and J/token.">
      <RadioButtonGroup
        id={id('tokens')}
        options={TOKEN_OPTIONS}
        value={query.tokens ?? OPTION_DEFAULTS.tokens}
        onChange={(tokens) => update({ tokens })}
      />
    </EditorField>
  );

  const metricField = uses('metric') && (
    <EditorField label="Metric" tooltip="The per-model series to draw.">
      <Combobox
        id={id('metric')}
        options={withVariables(METRIC_OPTIONS)}
        value={query.metric ?? null}
        placeholder={METRIC_LABELS[OPTION_DEFAULTS.metric]}
        createCustomValue
        isClearable
        width={26}
        onChange={(option) => update({ metric: option?.value })}
      />
    </EditorField>
  );
  const groupByField = uses('groupBy') && (
    <EditorField
      label="Group by"
      tooltip="One row (or series) per model, or the sum of the models of each namespace (team), GPU type, site or node."
    >
      <Combobox<GroupBy>
        id={id('groupBy')}
        options={GROUP_BY_OPTIONS}
        value={query.groupBy ?? OPTION_DEFAULTS.groupBy}
        width={22}
        onChange={(option) => update({ groupBy: option.value === OPTION_DEFAULTS.groupBy ? undefined : option.value })}
      />
    </EditorField>
  );
  const freedField = uses('freedGPUs') && (
    <EditorField label="Freed GPUs" tooltip="What a GPU freed by the recommendation draws afterwards: the savings' baseline.">
      <RadioButtonGroup
        id={id('freedGPUs')}
        options={FREED_GPU_OPTIONS}
        value={query.freedGPUs ?? OPTION_DEFAULTS.freedGPUs}
        onChange={(freedGPUs) => update({ freedGPUs })}
      />
    </EditorField>
  );
  const typeNumbers = TYPE_SPECIFIC_NUMBERS.filter(uses).map(numberField);
  const eventsField = uses('events') && (
    <EventsField id={id('events')} value={query.events} onChange={(events) => update({ events })} />
  );

  if (compact) {
    return (
      <EditorRows>
        <EditorRow>
          {typeField}
          {metricField}
          {groupByField}
          {modelFields}
          {tokensField}
          {numberField('idleThreshold')}
          {typeNumbers}
          {freedField}
          {eventsField}
        </EditorRow>
      </EditorRows>
    );
  }
  return (
    <EditorRows>
      <EditorRow>
        {typeField}
        <div data-testid="query-type-description">
          <Text color="secondary" italic>
            {info.description}
          </Text>
        </div>
      </EditorRow>
      <EditorRow>
        {modelFields}
        {numberField('idleThreshold')}
      </EditorRow>
      <EditorRow>
        {tokensField}
        {metricField}
        {groupByField}
        {typeNumbers}
        {freedField}
        {eventsField}
      </EditorRow>
    </EditorRows>
  );
}

interface Parsed<T> {
  value?: T;
  error?: string;
}

interface DraftInputProps<T> {
  id: string;
  label: string;
  tooltip: string;
  placeholder: string;
  value?: T;
  /** The backend's objection to the committed value. */
  error?: string;
  width: number;
  parse: (text: string) => Parsed<T>;
  onCommit: (value: T | undefined) => void;
}

/**
 * An option edited as text and committed on blur or Enter, so the query does not run on every key. Empty text
 * removes the option (the default, shown as placeholder, applies); text that does not parse says why.
 */
function DraftInput<T>({ id, label, tooltip, placeholder, value, error, width, parse, onCommit }: DraftInputProps<T>) {
  const committed = value === undefined ? '' : String(value);
  const [draft, setDraft] = useState({ committed, text: committed });
  // The query changed from outside (another option, the query type): show the new value.
  if (draft.committed !== committed) {
    setDraft({ committed, text: committed });
  }
  const parsed = parse(draft.text);
  const message = parsed.error ?? error;
  const commit = () => {
    if (!parsed.error && parsed.value !== value) {
      onCommit(parsed.value);
    }
  };
  return (
    <EditorField label={label} tooltip={tooltip} invalid={Boolean(message)} error={message} width={width}>
      <Input
        id={id}
        width={width}
        value={draft.text}
        placeholder={placeholder}
        invalid={Boolean(message)}
        onChange={(e) => setDraft({ committed, text: e.currentTarget.value })}
        onBlur={commit}
        onKeyDown={(e) => e.key === 'Enter' && commit()}
      />
    </EditorField>
  );
}

function parseText(text: string): Parsed<string> {
  return { value: text.trim() === '' ? undefined : text };
}

function parseNumber(text: string): Parsed<number> {
  if (text.trim() === '') {
    return {};
  }
  const value = Number(text);
  return Number.isNaN(value) ? { error: 'Must be a number.' } : { value };
}
