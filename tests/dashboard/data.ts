// From the plugin's response to what each panel draws, the way Grafana's panel query runner prepares it: frames
// decoded from the JSON wire format, the panel's transformations, then its field config (the panel plugin's
// defaults under the dashboard's defaults under what the data source set, then the overrides) with display
// processors.
import { lastValueFrom } from 'rxjs';
import {
  applyFieldOverrides,
  DataFrame,
  DataFrameJSON,
  dataFrameFromJSON,
  DataTransformerConfig,
  FieldConfig,
  FieldConfigSource,
  fieldMatchers,
  GrafanaTheme2,
  standardTransformers,
  standardTransformersRegistry,
  transformDataFrame,
} from '@grafana/data';

export interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  options?: Record<string, any>;
  fieldConfig?: FieldConfigSource;
  transformations?: DataTransformerConfig[];
}

export interface Dashboard {
  title: string;
  panels: Panel[];
}

/** The file tests/dashboard/frames writes: the dashboard's week and the plugin's response, refId = panel id. */
export interface Preview {
  fromMs: number;
  toMs: number;
  response: { results: Record<string, { status?: number; error?: string; frames?: DataFrameJSON[] }> };
}

// Grafana registers its transformations when it starts; @grafana/data ships them unregistered.
// (Some are exported twice, under an old name too.)
standardTransformersRegistry.setInit(() =>
  [...new Set(Object.values(standardTransformers))].map((transformation) => ({
    id: transformation.id,
    name: transformation.name,
    description: transformation.description,
    transformation,
    editor: () => null,
    imageDark: '',
    imageLight: '',
  }))
);

/** The frames of one panel, as the panel receives them. */
export async function panelFrames(
  preview: Preview,
  panel: Panel,
  pluginDefaults: FieldConfig,
  theme: GrafanaTheme2
): Promise<DataFrame[]> {
  const result = preview.response.results[String(panel.id)];
  if (!result || result.error) {
    throw new Error(`panel "${panel.title}": ${result?.error ?? 'no response'}`);
  }
  const decoded = (result.frames ?? []).map((f) => dataFrameFromJSON(f));
  const transformed = await lastValueFrom(transformDataFrame(panel.transformations ?? [], decoded));
  const configured = withFieldConfig(transformed, panel.fieldConfig ?? { defaults: {}, overrides: [] }, pluginDefaults);
  return applyFieldOverrides({
    data: configured,
    fieldConfig: { defaults: {}, overrides: [] },
    replaceVariables: (v) => v,
    theme,
    timeZone: 'utc',
  });
}

function withFieldConfig(frames: DataFrame[], source: FieldConfigSource, pluginDefaults: FieldConfig): DataFrame[] {
  const rules = source.overrides.map((rule) => ({
    match: fieldMatchers.get(rule.matcher.id).get(rule.matcher.options),
    properties: rule.properties,
  }));
  return frames.map((frame) => ({
    ...frame,
    fields: frame.fields.map((field) => {
      const config: FieldConfig = {
        ...pluginDefaults,
        ...source.defaults,
        ...field.config,
        custom: { ...pluginDefaults.custom, ...source.defaults.custom, ...field.config.custom },
      };
      for (const rule of rules) {
        if (rule.match(field, frame, frames)) {
          rule.properties.forEach((p) => setPath(config, p.id, p.value));
        }
      }
      return { ...field, config };
    }),
  }));
}

// Override property ids are paths into the field config (`unit`, `custom.minWidth`).
function setPath(target: Record<string, any>, path: string, value: unknown) {
  const keys = path.split('.');
  const last = keys.pop()!;
  const parent = keys.reduce((obj, key) => (obj[key] ??= {}), target);
  parent[last] = value;
}

/** The notices of a panel's frames by severity, as Grafana's panel header shows them: one icon per severity. */
export function noticesBySeverity(frames: DataFrame[]): Map<string, string[]> {
  const bySeverity = new Map<string, string[]>();
  for (const { severity, text } of frames.flatMap((f) => f.meta?.notices ?? [])) {
    const texts = bySeverity.get(severity) ?? [];
    bySeverity.set(severity, texts.includes(text) ? texts : [...texts, text]);
  }
  return bySeverity;
}
