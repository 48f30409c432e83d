import {
  AnnotationQuery,
  CoreApp,
  CustomVariableSupport,
  DataQueryRequest,
  DataQueryResponse,
  DataSourceInstanceSettings,
  MetricFindValue,
  ScopedVars,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv, TemplateSrv } from '@grafana/runtime';
import { from, map, Observable } from 'rxjs';

import { AnnotationEditor } from './components/AnnotationEditor';
import { VariableQueryEditor } from './components/VariableQueryEditor';
import {
  DEFAULT_QUERY_TYPE,
  DEFAULT_VARIABLE_RESOURCE,
  FleetOptions,
  FleetQuery,
  FleetVariableQuery,
  isQueryType,
  VARIABLE_RESOURCES,
  VariableResource,
} from './types';

// Joins the values of a multi-value variable so they can be split back into a list; no model name holds it.
const LIST_SEPARATOR = '\u001f';

export class DataSource extends DataSourceWithBackend<FleetQuery, FleetOptions> {
  constructor(
    instanceSettings: DataSourceInstanceSettings<FleetOptions>,
    private readonly templateSrv: TemplateSrv = getTemplateSrv()
  ) {
    super(instanceSettings);
    this.variables = new FleetVariableSupport(this);
    // Annotations run as queries of type `annotations`: the frame's time, timeEnd, title, text and tags fields
    // become the events (Grafana's standard processing).
    this.annotations = {
      QueryEditor: AnnotationEditor,
      getDefaultQuery: () => ({ queryType: 'annotations' }),
      prepareQuery: (anno: AnnotationQuery<FleetQuery>) => ({
        refId: 'Anno',
        ...anno.target,
        queryType: 'annotations',
      }),
    };
  }

  getDefaultQuery(_app: CoreApp): Partial<FleetQuery> {
    return { queryType: DEFAULT_QUERY_TYPE };
  }

  filterQuery(query: FleetQuery): boolean {
    return !query.hide && isQueryType(query.queryType);
  }

  // Every text option takes dashboard variables. A multi-value variable becomes a list in `models` and an
  // alternation of escaped values in `modelRegex` (Grafana's `regex` format).
  applyTemplateVariables(query: FleetQuery, scopedVars: ScopedVars): FleetQuery {
    const text = (value: string) => this.templateSrv.replace(value, scopedVars);
    const out: FleetQuery = { ...query };
    if (query.models) {
      out.models = unique(query.models.flatMap((model) => this.expandList(model, scopedVars)));
    }
    if (query.modelRegex !== undefined) {
      out.modelRegex = this.templateSrv.replace(query.modelRegex, scopedVars, 'regex');
    }
    if (query.tokens !== undefined) {
      out.tokens = text(query.tokens);
    }
    if (query.metric !== undefined) {
      out.metric = text(query.metric);
    }
    return out;
  }

  private expandList(value: string, scopedVars: ScopedVars): string[] {
    const joined = this.templateSrv.replace(value, scopedVars, (v: string | string[]) =>
      (Array.isArray(v) ? v : [v]).join(LIST_SEPARATOR)
    );
    return joined.split(LIST_SEPARATOR).filter((v) => v !== '');
  }

  /** The names a backend resource lists (served models, GPU types, namespaces). */
  listResource(resource: VariableResource): Promise<string[]> {
    return this.getResource<string[]>(resource);
  }

  /** Dashboard variable values; a legacy string query names the resource ("models"); an empty one the default. */
  async metricFindQuery(query: FleetVariableQuery | string): Promise<MetricFindValue[]> {
    const resource = (typeof query === 'string' ? query.trim() : query.resource) || DEFAULT_VARIABLE_RESOURCE;
    if (!VARIABLE_RESOURCES.includes(resource as VariableResource)) {
      throw new Error(`Cannot list "${resource}": choose one of ${VARIABLE_RESOURCES.join(', ')}.`);
    }
    const names = await this.listResource(resource as VariableResource);
    return names.map((text) => ({ text, value: text }));
  }
}

export class FleetVariableSupport extends CustomVariableSupport<DataSource, FleetVariableQuery> {
  editor = VariableQueryEditor;

  constructor(private readonly datasource: DataSource) {
    super();
  }

  /** A new variable lists the served models, as its editor shows. */
  getDefaultQuery(): Partial<FleetQuery> {
    // @grafana/data types it as the data source's query; Grafana makes it the variable's query.
    const query: Partial<FleetVariableQuery> = { refId: 'variable', resource: DEFAULT_VARIABLE_RESOURCE };
    return query as Partial<FleetQuery>;
  }

  query(request: DataQueryRequest<FleetVariableQuery>): Observable<DataQueryResponse> {
    return from(this.datasource.metricFindQuery(request.targets[0])).pipe(map((data) => ({ data })));
  }
}

function unique(values: string[]): string[] {
  return Array.from(new Set(values));
}
