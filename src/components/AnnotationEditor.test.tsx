import React, { useState } from 'react';
import { setTemplateSrv } from '@grafana/runtime';
import { act, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { DataSource } from '../datasource';
import { giveElementsASize } from '../test/layout';
import { fakeTemplateSrv } from '../test/templateSrv';
import { FleetQuery } from '../types';
import { AnnotationEditor } from './AnnotationEditor';

beforeAll(() => {
  giveElementsASize();
  setTemplateSrv(fakeTemplateSrv({}));
});

async function renderEditor(initial: FleetQuery) {
  const listResource = jest.fn().mockResolvedValue(['gemma-4-31B', 'Qwen3-32B']);
  const datasource = { listResource } as unknown as DataSource;
  let current = initial;
  function Wrapper() {
    const [query, setQuery] = useState(current);
    return (
      <AnnotationEditor
        datasource={datasource}
        query={query}
        onRunQuery={jest.fn()}
        onChange={(q) => {
          current = q;
          setQuery(q);
        }}
      />
    );
  }
  render(<Wrapper />);
  await act(() => Promise.resolve());
  return { user: userEvent.setup({ delay: null }), query: () => current };
}

describe('AnnotationEditor', () => {
  it('chooses the event kinds and models of an annotations query', async () => {
    const { user, query } = await renderEditor({ refId: 'Anno' });
    expect(screen.getByRole('combobox', { name: 'Events' })).toHaveAttribute('placeholder', 'All events');

    await user.click(screen.getByRole('combobox', { name: 'Events' }));
    await user.click(await screen.findByRole('option', { name: 'Idle stretches' }));
    await user.keyboard('{Escape}');
    await user.click(screen.getByRole('combobox', { name: 'Models' }));
    await user.click(await screen.findByRole('option', { name: 'gemma-4-31B' }));
    await user.keyboard('{Escape}');

    expect(query()).toEqual({ refId: 'Anno', queryType: 'annotations', events: ['idle'], models: ['gemma-4-31B'] });
  });
});

describe('annotation support', () => {
  it('runs every annotation as an annotations query, whatever the stored target lacks', () => {
    const ds = new DataSource({ jsonData: {} } as never, fakeTemplateSrv({}));
    expect(ds.annotations?.QueryEditor).toBe(AnnotationEditor);
    expect(ds.annotations?.getDefaultQuery?.()).toEqual({ queryType: 'annotations' });
    const target = { refId: 'A', models: ['gemma-4-31B'], events: ['restart'] } as FleetQuery;
    expect(ds.annotations?.prepareQuery?.({ name: 'Moves', enable: true, iconColor: 'red', target })).toEqual({
      ...target,
      queryType: 'annotations',
    });
  });
});
