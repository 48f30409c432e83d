import { ScopedVars, TypedVariableModel } from '@grafana/data';
import { TemplateSrv } from '@grafana/runtime';

type Format = string | ((value: string | string[]) => string) | undefined;

const escapeRegex = (value: string) => value.replace(/[\\^$*+?.()|[\]{}\/]/g, '\\$&');

// Grafana's formats this plugin relies on (public/app/features/templating/formatRegistry.ts).
function format(value: string | string[], fmt: Format): string {
  if (typeof fmt === 'function') {
    return fmt(value);
  }
  if (fmt === 'regex') {
    const escaped = (Array.isArray(value) ? value : [value]).map(escapeRegex);
    return escaped.length === 1 ? escaped[0] : `(${escaped.join('|')})`;
  }
  // Grafana's default format for a multi-value variable is a glob: {a,b}.
  return Array.isArray(value) ? (value.length === 1 ? value[0] : `{${value.join(',')}}`) : value;
}

/**
 * A TemplateSrv with the dashboard variables given, replacing $name and ${name} the way Grafana's does.
 * Scoped variables (repeated panels) take precedence.
 */
export function fakeTemplateSrv(variables: Record<string, string | string[]> = {}): TemplateSrv {
  return {
    getVariables: () => Object.keys(variables).map((name) => ({ name }) as TypedVariableModel),
    replace: (target?: string, scopedVars?: ScopedVars, fmt?: Format) =>
      (target ?? '').replace(/\$(\w+)|\$\{(\w+)\}/g, (match, plain?: string, braced?: string) => {
        const name = (plain ?? braced)!;
        const value = scopedVars?.[name]?.value ?? variables[name];
        return value === undefined ? match : format(value as string | string[], fmt);
      }),
    containsTemplate: (target?: string) => /\$\w|\$\{/.test(target ?? ''),
    updateTimeRange: () => {},
  };
}
