import { useEffect, useMemo, useState } from 'react';
import { getTemplateSrv } from '@grafana/runtime';
import { ComboboxOption } from '@grafana/ui';

import type { DataSource } from '../datasource';

/** The served models from the backend, then the dashboard's variables. */
export function useModelOptions(datasource: DataSource): ComboboxOption[] {
  const [models, setModels] = useState<string[]>([]);
  useEffect(() => {
    let live = true;
    datasource
      .listResource('models')
      .then((names) => live && setModels(names))
      // Without the list the user can still type model names; the backend explains connection errors.
      .catch(() => live && setModels([]));
    return () => {
      live = false;
    };
  }, [datasource]);
  return useMemo(() => withVariables(models.map((value) => ({ value, label: value }))), [models]);
}

export function withVariables(options: ComboboxOption[]): ComboboxOption[] {
  const variables = getTemplateSrv()
    .getVariables()
    .map((v) => ({ value: `$${v.name}`, label: `$${v.name}`, description: 'Dashboard variable' }));
  return [...options, ...variables];
}
