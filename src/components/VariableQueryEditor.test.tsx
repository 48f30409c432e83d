import React from 'react';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import type { DataSource } from '../datasource';
import { VariableQueryEditor } from './VariableQueryEditor';

describe('VariableQueryEditor', () => {
  it('lists models by default and switches to GPU types or namespaces', async () => {
    const onChange = jest.fn();
    render(
      <VariableQueryEditor
        datasource={{} as DataSource}
        query={{ refId: 'variable', resource: 'models' }}
        onChange={onChange}
        onRunQuery={jest.fn()}
      />
    );
    expect(screen.getByRole('radio', { name: 'Models' })).toBeChecked();

    await userEvent.click(screen.getByRole('radio', { name: 'GPU types' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'variable', resource: 'gpu-types' });
    await userEvent.click(screen.getByRole('radio', { name: 'Namespaces' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'variable', resource: 'namespaces' });
  });

  it('shows an empty query as the models it lists', () => {
    render(
      <VariableQueryEditor
        datasource={{} as DataSource}
        query={{ refId: 'variable' }}
        onChange={jest.fn()}
        onRunQuery={jest.fn()}
      />
    );
    expect(screen.getByRole('radio', { name: 'Models' })).toBeChecked();
  });
});
