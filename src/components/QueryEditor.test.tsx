import React, { useState } from 'react';
import { CoreApp } from '@grafana/data';
import { setTemplateSrv } from '@grafana/runtime';
import { act, render, screen, waitFor } from '@testing-library/react';
import userEvent, { UserEvent } from '@testing-library/user-event';

import type { DataSource } from '../datasource';
import { queryOptionsFixture } from '../test/fixtures';
import { giveElementsASize } from '../test/layout';
import { fakeTemplateSrv } from '../test/templateSrv';
import { FleetQuery, QUERY_TYPE_INFO, QueryType } from '../types';
import { QueryEditor } from './QueryEditor';

const SERVED_MODELS = ['gpt-oss-120b', 'gemma-4-31B', 'Qwen3.5-397B'];

beforeAll(() => {
  giveElementsASize();
  setTemplateSrv(fakeTemplateSrv({ model: 'gpt-oss-120b' }));
});

interface Harness {
  user: UserEvent;
  /** The query as Grafana holds it after the last change. */
  query: () => FleetQuery;
  onRunQuery: jest.Mock;
  listResource: jest.Mock;
}

async function renderEditor(initial: Partial<FleetQuery>, app = CoreApp.PanelEditor): Promise<Harness> {
  const listResource = jest.fn().mockResolvedValue(SERVED_MODELS);
  const datasource = { listResource } as unknown as DataSource;
  const onRunQuery = jest.fn();
  let current: FleetQuery = { refId: 'A', ...initial };
  // Grafana keeps the query and passes it back: so does this wrapper.
  function Wrapper() {
    const [query, setQuery] = useState(current);
    return (
      <QueryEditor
        app={app}
        datasource={datasource}
        query={query}
        onRunQuery={onRunQuery}
        onChange={(q) => {
          current = q;
          setQuery(q);
        }}
      />
    );
  }
  render(<Wrapper />);
  // Let the model list arrive before the test acts.
  await act(() => Promise.resolve());
  return { user: userEvent.setup({ delay: null }), query: () => current, onRunQuery, listResource };
}

async function chooseOption(user: UserEvent, comboboxLabel: string, optionName: string) {
  await user.click(screen.getByRole('combobox', { name: comboboxLabel }));
  await user.click(await screen.findByRole('option', { name: new RegExp(optionName) }));
}

// Pasting is one input event where typing is one per key: the same for the editor, much faster under load.
async function typeAndCommit(user: UserEvent, label: string, text: string) {
  const input = screen.getByLabelText(label);
  await user.clear(input);
  await user.paste(text);
  await user.tab();
}

// How a user sets each option of the contract in the editor, and the value that must reach the query JSON.
// An option the fixture gains without a control here fails the test below.
const SET_OPTION: Record<string, { set: (user: UserEvent) => Promise<void>; expected: unknown }> = {
  models: {
    set: async (user) => {
      await user.click(screen.getByRole('combobox', { name: 'Models' }));
      await user.click(await screen.findByRole('option', { name: 'gemma-4-31B' }));
      await user.keyboard('{Escape}');
    },
    expected: ['gemma-4-31B'],
  },
  modelRegex: { set: (user) => typeAndCommit(user, 'Model regex', 'gpt-oss.*'), expected: 'gpt-oss.*' },
  tokens: {
    set: async (user) => user.click(screen.getByRole('radio', { name: 'Generation only' })),
    expected: 'generation',
  },
  idleThreshold: { set: (user) => typeAndCommit(user, 'Idle below (tok/s)', '0.5'), expected: 0.5 },
  metric: { set: (user) => chooseOption(user, 'Metric', 'Power \\(W\\)'), expected: 'power_w' },
  groupBy: { set: (user) => chooseOption(user, 'Group by', 'Namespace \\(team\\)'), expected: 'namespace' },
  kvHeadroom: { set: (user) => typeAndCommit(user, 'KV-cache headroom', '0.35'), expected: 0.35 },
  trafficMargin: { set: (user) => typeAndCommit(user, 'Traffic margin', '0.5'), expected: 0.5 },
  minHistoryHours: { set: (user) => typeAndCommit(user, 'Min history (h)', '24'), expected: 24 },
  contextTokens: { set: (user) => typeAndCommit(user, 'Mean context (tokens)', '4096'), expected: 4096 },
  ttftP95Seconds: { set: (user) => typeAndCommit(user, 'TTFT SLO p95 (s)', '1.5'), expected: 1.5 },
  itlP95Seconds: { set: (user) => typeAndCommit(user, 'ITL SLO p95 (s)', '0.05'), expected: 0.05 },
  freedGPUs: {
    set: async (user) => user.click(screen.getByRole('radio', { name: 'Powered off' })),
    expected: 'powered-off',
  },
  spinDownIdleShare: { set: (user) => typeAndCommit(user, 'Spin down when idle for', '0.9'), expected: 0.9 },
  events: {
    set: async (user) => {
      await user.click(screen.getByRole('combobox', { name: 'Events' }));
      await user.click(await screen.findByRole('option', { name: 'Moves onto other GPUs' }));
      await user.keyboard('{Escape}');
    },
    expected: ['restart'],
  },
};

// The label under which each option appears, to check that a query type shows only its own options.
const OPTION_LABEL: Record<string, string> = {
  models: 'Models',
  modelRegex: 'Model regex',
  tokens: 'Tokens',
  idleThreshold: 'Idle below (tok/s)',
  metric: 'Metric',
  groupBy: 'Group by',
  kvHeadroom: 'KV-cache headroom',
  trafficMargin: 'Traffic margin',
  minHistoryHours: 'Min history (h)',
  contextTokens: 'Mean context (tokens)',
  ttftP95Seconds: 'TTFT SLO p95 (s)',
  itlP95Seconds: 'ITL SLO p95 (s)',
  freedGPUs: 'Freed GPUs',
  spinDownIdleShare: 'Spin down when idle for',
  events: 'Events',
};

const ALL_OPTIONS = Object.keys(OPTION_LABEL);
const queryTypes = Object.entries(queryOptionsFixture.queryTypes) as Array<[QueryType, string[]]>;

describe('QueryEditor', () => {
  it('shows the query type, what it answers, and fills the model picker from /models', async () => {
    const { user, listResource } = await renderEditor({ queryType: 'idle-attribution' });

    expect(screen.getByRole('combobox', { name: 'Query type' })).toHaveValue('Idle attribution');
    expect(screen.getByTestId('query-type-description')).toHaveTextContent(
      QUERY_TYPE_INFO['idle-attribution'].description
    );
    expect(listResource).toHaveBeenCalledWith('models');

    await user.click(screen.getByRole('combobox', { name: 'Models' }));
    await screen.findAllByRole('option');
    // The served models, then the dashboard's variables.
    expect(screen.getAllByRole('option').map((o) => o.textContent)).toEqual([
      ...SERVED_MODELS,
      '$modelDashboard variable',
    ]);
  });

  it('lists every query type with its description', async () => {
    const { user } = await renderEditor({ queryType: 'fleet-timeseries' });
    await user.click(screen.getByRole('combobox', { name: 'Query type' }));
    const options = await screen.findAllByRole('option');
    expect(options).toHaveLength(queryTypes.length);
    for (const [type] of queryTypes) {
      const option = screen.getByRole('option', { name: new RegExp(QUERY_TYPE_INFO[type].label) });
      expect(option).toHaveTextContent(QUERY_TYPE_INFO[type].description);
    }
  });

  it('shows defaults as placeholders and sends none of them', async () => {
    const { query } = await renderEditor({ queryType: 'right-sizing' });
    const { defaults } = queryOptionsFixture;
    expect(screen.getByLabelText('Idle below (tok/s)')).toHaveAttribute('placeholder', String(defaults.idleThreshold));
    expect(screen.getByLabelText('KV-cache headroom')).toHaveAttribute('placeholder', String(defaults.kvHeadroom));
    expect(screen.getByLabelText('Traffic margin')).toHaveAttribute('placeholder', String(defaults.trafficMargin));
    expect(screen.getByLabelText('Min history (h)')).toHaveAttribute('placeholder', String(defaults.minHistoryHours));
    expect(screen.getByRole('radio', { name: 'Prompt + generation' })).toBeChecked();
    expect(screen.getByRole('combobox', { name: 'Models' })).toHaveAttribute('placeholder', 'All models');
    expect(query()).toEqual({ refId: 'A', queryType: 'right-sizing' });
  });

  describe.each(queryTypes)('%s', (type, options) => {
    it('shows only its options', async () => {
      await renderEditor({ queryType: type });
      for (const option of ALL_OPTIONS) {
        const shown = screen.queryByText(OPTION_LABEL[option], { selector: 'label' }) !== null;
        expect([option, shown]).toEqual([option, options.includes(option)]);
      }
    });

    it('sends every option under the name the backend reads', async () => {
      const { user, query, onRunQuery } = await renderEditor({ queryType: type });
      for (const option of options) {
        expect(SET_OPTION).toHaveProperty(option);
        await SET_OPTION[option].set(user);
        expect([option, query()[option as keyof FleetQuery]]).toEqual([option, SET_OPTION[option].expected]);
      }
      const expected = Object.fromEntries(options.map((o) => [o, SET_OPTION[o].expected]));
      expect(query()).toEqual({ refId: 'A', queryType: type, ...expected });
      expect(onRunQuery).toHaveBeenCalled();
    });
  });

  it('switching the query type keeps the common options and drops the others', async () => {
    const { user, query } = await renderEditor({
      queryType: 'right-sizing',
      models: ['gpt-oss-120b'],
      tokens: 'generation',
      kvHeadroom: 0.3,
      minHistoryHours: 12,
    });
    await chooseOption(user, 'Query type', 'Consolidation');
    expect(query()).toEqual({ refId: 'A', queryType: 'consolidation', models: ['gpt-oss-120b'], tokens: 'generation' });
    expect(screen.getByLabelText('Spin down when idle for')).toBeInTheDocument();
    expect(screen.queryByLabelText('KV-cache headroom')).not.toBeInTheDocument();
  });

  it('clearing a number brings the default back', async () => {
    const { user, query } = await renderEditor({ queryType: 'consolidation', spinDownIdleShare: 0.8 });
    await user.clear(screen.getByLabelText('Spin down when idle for'));
    await user.tab();
    expect(query()).toEqual({ refId: 'A', queryType: 'consolidation' });
  });

  it.each([
    ['Idle below (tok/s)', '-1', 'Must be a number from 0 to 1000000 (tok/s).'],
    ['Spin down when idle for', '0.3', 'Must be a number from 0.5 to 1 (of the steps).'],
    ['Spin down when idle for', 'most', 'Must be a number.'],
    ['Model regex', 'gpt-(oss', 'Not a valid regular expression'],
  ])('says what is wrong with %s = %s before the query runs', async (label, text, message) => {
    const { user, onRunQuery } = await renderEditor({ queryType: 'consolidation' });
    await typeAndCommit(user, label, text);
    expect(screen.getByText(new RegExp(message.replace(/[().]/g, '\\$&')))).toBeInTheDocument();
    expect(onRunQuery).not.toHaveBeenCalled();
  });

  it('fits in one row in Explore, the description as a tooltip', async () => {
    await renderEditor({ queryType: 'fleet-timeseries' }, CoreApp.Explore);
    expect(screen.queryByTestId('query-type-description')).not.toBeInTheDocument();
    // Query type, metric, grouping and models side by side, in that order.
    expect(screen.getAllByRole('combobox').map((c) => c.getAttribute('id'))).toEqual([
      'fleet-A-queryType',
      'fleet-A-metric',
      'fleet-A-groupBy',
      'fleet-A-models',
    ]);
  });

  it('waits for the model list without failing when /models errors', async () => {
    const datasource = { listResource: jest.fn().mockRejectedValue(new Error('503')) } as unknown as DataSource;
    render(
      <QueryEditor datasource={datasource} query={{ refId: 'A', queryType: 'fleet-summary' }} onChange={jest.fn()} onRunQuery={jest.fn()} />
    );
    await waitFor(() => expect(datasource.listResource).toHaveBeenCalled());
    expect(screen.getByRole('combobox', { name: 'Models' })).toBeEnabled();
  });
});
