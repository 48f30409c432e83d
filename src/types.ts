import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

// The query contract of pkg/models/query.go. pkg/models/testdata/query_options.json is the shared fixture that
// src/types.test.ts checks these tables against, so the editor and the backend cannot drift.

export const QUERY_TYPES = [
  'fleet-timeseries',
  'efficiency-curve',
  'idle-attribution',
  'right-sizing',
  'consolidation',
  'fleet-summary',
  'annotations',
] as const;
export type QueryType = (typeof QUERY_TYPES)[number];

export const TOKEN_KINDS = ['total', 'generation'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

export const FREED_GPU_CHOICES = ['pool', 'powered-off'] as const;
export type FreedGPUs = (typeof FREED_GPU_CHOICES)[number];

export const TIMESERIES_METRICS = [
  'power_w',
  'tokens_per_s',
  'j_per_token',
  'idle_fraction',
  'co2_g_per_h',
  'cost_per_h',
] as const;
export type TimeseriesMetric = (typeof TIMESERIES_METRICS)[number];

/** What idle-attribution, fleet-summary and fleet-timeseries group models by (namespace: the team on NRP). */
export const GROUP_BY_CHOICES = ['model', 'namespace', 'gpu_type', 'site', 'node'] as const;
export type GroupBy = (typeof GROUP_BY_CHOICES)[number];

export const GROUP_BY_LABELS: Record<GroupBy, string> = {
  model: 'Model',
  namespace: 'Namespace (team)',
  gpu_type: 'GPU type',
  site: 'Site',
  node: 'Node',
};

export const EVENT_KINDS = ['idle', 'restart', 'right-sizing'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const EVENT_LABELS: Record<EventKind, string> = {
  idle: 'Idle stretches',
  restart: 'Moves onto other GPUs',
  'right-sizing': 'Right-sizing verdict changes',
};

export interface FleetQuery extends DataQuery {
  queryType?: QueryType;
  // Common options: empty models means every model.
  models?: string[];
  modelRegex?: string;
  /** one of TOKEN_KINDS, or a dashboard variable */
  tokens?: string;
  /** tok/s below which a step counts as idle */
  idleThreshold?: number;
  // idle-attribution, fleet-summary and fleet-timeseries.
  /** one of GROUP_BY_CHOICES: rows or series per model (the default) or per group */
  groupBy?: GroupBy;
  // fleet-timeseries.
  /** one of TIMESERIES_METRICS, or a dashboard variable */
  metric?: string;
  // right-sizing.
  /** fraction of the weights kept free for the KV cache */
  kvHeadroom?: number;
  /** fraction of headroom the smaller allocation must keep */
  trafficMargin?: number;
  /** less history than this gives no verdict */
  minHistoryHours?: number;
  /** mean tokens a running request holds in the KV cache (the physics bound) */
  contextTokens?: number;
  /** latency SLOs at the p95 in seconds; 0 or unset keeps the data source's */
  ttftP95Seconds?: number;
  itlP95Seconds?: number;
  // right-sizing and consolidation.
  /** what a freed GPU draws afterwards: back in the pool, or powered off */
  freedGPUs?: FreedGPUs;
  // consolidation.
  /** share of steps idle that makes a spin-down candidate */
  spinDownIdleShare?: number;
  // annotations.
  /** the kinds of events to mark, from EVENT_KINDS */
  events?: EventKind[];
}

export type QueryOption = Exclude<keyof FleetQuery, keyof DataQuery>;
export type NumericOption =
  | 'idleThreshold'
  | 'kvHeadroom'
  | 'trafficMargin'
  | 'minHistoryHours'
  | 'contextTokens'
  | 'ttftP95Seconds'
  | 'itlP95Seconds'
  | 'spinDownIdleShare';

const COMMON_OPTIONS: QueryOption[] = ['models', 'modelRegex', 'tokens', 'idleThreshold'];

export interface QueryTypeInfo {
  label: string;
  /** One line: the question this query type answers. */
  description: string;
  options: QueryOption[];
}

export const QUERY_TYPE_INFO: Record<QueryType, QueryTypeInfo> = {
  'fleet-timeseries': {
    label: 'Fleet time series',
    description: 'How one metric (power, tokens/s, J/token, idle share, CO₂) moves over time, per model.',
    options: [...COMMON_OPTIONS, 'groupBy', 'metric'],
  },
  'efficiency-curve': {
    label: 'Efficiency curve',
    description: 'How J/token falls as traffic rises, and the rate past which more load barely helps.',
    options: COMMON_OPTIONS,
  },
  'idle-attribution': {
    label: 'Idle attribution',
    description: "How much of each model's (or team's) power is idle floor, what it costs, and a token's margin.",
    options: [...COMMON_OPTIONS, 'groupBy'],
  },
  'right-sizing': {
    label: 'Right-sizing',
    description: 'Which models hold more GPUs than their weights and traffic need, and what fewer would save.',
    options: [
      ...COMMON_OPTIONS,
      'kvHeadroom',
      'trafficMargin',
      'minHistoryHours',
      'contextTokens',
      'ttftP95Seconds',
      'itlP95Seconds',
      'freedGPUs',
    ],
  },
  consolidation: {
    label: 'Consolidation',
    description: 'Which idle models to spin down and which quiet ones to co-locate, with the watts saved.',
    options: [...COMMON_OPTIONS, 'spinDownIdleShare', 'freedGPUs'],
  },
  'fleet-summary': {
    label: 'Fleet summary',
    description: 'Fleet (or per-team) totals: power, idle power, tokens/s, J/token, CO₂ per day, cost and idle GPUs.',
    options: [...COMMON_OPTIONS, 'groupBy'],
  },
  annotations: {
    label: 'Events',
    description: 'When models went idle and woke up, when their pods moved onto other GPUs, and when a right-sizing verdict changed (for annotations).',
    options: [...COMMON_OPTIONS, 'events'],
  },
};

export const DEFAULT_QUERY_TYPE: QueryType = 'fleet-timeseries';

/** The backend's defaults (pkg/models DefaultQuery); the editor shows them as placeholders. */
export const OPTION_DEFAULTS = {
  tokens: 'total',
  idleThreshold: 0.1,
  metric: 'j_per_token',
  groupBy: 'model',
  kvHeadroom: 0.2,
  trafficMargin: 0.3,
  minHistoryHours: 48,
  spinDownIdleShare: 0.95,
  contextTokens: 2048,
  ttftP95Seconds: 0,
  itlP95Seconds: 0,
  freedGPUs: 'pool',
  events: EVENT_KINDS,
} as const satisfies Partial<Record<QueryOption, unknown>>;

/** The ranges pkg/models accepts; the editor says so before the query runs. */
export const OPTION_RANGES: Record<NumericOption, { min: number; max: number; unit: string }> = {
  idleThreshold: { min: 0, max: 1e6, unit: 'tok/s' },
  kvHeadroom: { min: 0, max: 10, unit: 'of the weights' },
  trafficMargin: { min: 0, max: 0.95, unit: 'of the peak' },
  minHistoryHours: { min: 0, max: 8784, unit: 'h' },
  spinDownIdleShare: { min: 0.5, max: 1, unit: 'of the steps' },
  contextTokens: { min: 1, max: 1e7, unit: 'tokens' },
  ttftP95Seconds: { min: 0, max: 3600, unit: 's' },
  itlP95Seconds: { min: 0, max: 60, unit: 's' },
};

export const METRIC_LABELS: Record<TimeseriesMetric, string> = {
  power_w: 'Power (W)',
  tokens_per_s: 'Tokens/s',
  j_per_token: 'Energy per token (J)',
  idle_fraction: 'Idle share of power',
  co2_g_per_h: 'CO₂ (g/h)',
  cost_per_h: 'Cost per hour',
};

/** Keeps the options query type `type` uses (and Grafana's own fields), so a saved query carries no stale ones. */
export function withQueryType(query: FleetQuery, type: QueryType): FleetQuery {
  const kept: FleetQuery = { refId: query.refId };
  for (const [key, value] of Object.entries(query)) {
    const option = key as QueryOption;
    if (!isQueryOption(key) || QUERY_TYPE_INFO[type].options.includes(option)) {
      Object.assign(kept, { [key]: value });
    }
  }
  return { ...kept, queryType: type };
}

const ALL_OPTIONS = new Set<string>(Object.values(QUERY_TYPE_INFO).flatMap((t) => t.options));

function isQueryOption(key: string): key is QueryOption {
  return ALL_OPTIONS.has(key);
}

export function isQueryType(value: unknown): value is QueryType {
  return QUERY_TYPES.includes(value as QueryType);
}

/** The engine kinds of pkg/models (Engines): auto detects it from the server's build info. */
export const ENGINES = ['auto', 'prometheus', 'thanos', 'mimir', 'victoriametrics'] as const;
export type Engine = (typeof ENGINES)[number];

export const ENGINE_LABELS: Record<Engine, string> = {
  auto: 'Auto-detect',
  prometheus: 'Prometheus',
  thanos: 'Thanos',
  mimir: 'Mimir / Cortex',
  victoriametrics: 'VictoriaMetrics',
};

/** Settings (jsonData) of pkg/models/settings.go. Secrets live in secureJsonData through Grafana's components. */
export interface FleetOptions extends DataSourceJsonData {
  mode?: 'prometheus' | 'demo';
  /** cookies of the user that Grafana forwards to Prometheus (Grafana drops the others) */
  keepCookies?: string[];
  /** send the requests through Grafana's secure SOCKS proxy (offered when Grafana enables it) */
  enableSecureSocksProxy?: boolean;
  timeoutSeconds?: number;
  scrapeInterval?: string;
  engine?: Engine;
  tenantId?: string;
  /** 'off' reads the raw series even where the fleetrules recording rules' series exist. */
  recordingRules?: 'auto' | 'off';
  recordedPrefix?: string;
  cacheTTLSeconds?: number;
  mapping?: Mapping;
  carbon?: CarbonSettings;
  cost?: CostSettings;
  idleFloors?: IdleFloor[];
  gpus?: GPUOverride[];
  modelSizes?: ModelSize[];
  /** Latency SLOs right-sizing keeps at the p95 traffic; queries may override them. */
  slo?: SLOSettings;
  demoSeed?: number;
}

/** Seconds; unset is the default, 0 leaves the latency unchecked. */
export interface SLOSettings {
  ttftP95Seconds?: number;
  itlP95Seconds?: number;
}

export interface Mapping {
  powerMetric?: string;
  energyMetric?: string;
  powerLimitMetric?: string;
  gpuTypeLabel?: string;
  hostLabels?: string[];
  promptTokensMetric?: string;
  generationTokensMetric?: string;
  modelLabel?: string;
  /** label of the token series naming the model's Kubernetes namespace (the team on NRP), for groupBy */
  namespaceLabel?: string;
  joinLabels?: string[];
  joinMode?: 'auto' | 'direct' | 'exported';
  gpuModelLabel?: string;
  labelFilter?: string;
}

export interface CarbonSettings {
  pue?: number;
  /** gCO2/kWh */
  defaultIntensity?: number;
  sites?: Site[];
  /** PromQL of the grid's live intensity (gCO2/kWh), one series per site named by intensitySiteLabel */
  intensityQuery?: string;
  intensitySiteLabel?: string;
  embodied?: EmbodiedGPU[];
  serviceLifeYears?: number;
}

export interface Site {
  name: string;
  hostPattern: string;
  /** gCO2/kWh */
  intensity: number;
  /** the site's own PUE; absent: the fleet's */
  pue?: number;
  /** PromQL of this site's live intensity (gCO2/kWh); wins over intensityQuery */
  intensityQuery?: string;
  /** electricity price per kWh in the cost currency; unset: the default price, if any */
  pricePerKWh?: number;
}

/** Embodied carbon of one GPU of a type, for the SCI. */
export interface EmbodiedGPU {
  gpuType: string;
  kgCO2e?: number;
}

/** Prices (pkg/models/cost.go). Unset prices leave the cost fields empty; there is no default price. */
export interface CostSettings {
  /** ISO 4217 code, e.g. USD */
  currency?: string;
  /** per kWh, for hosts no site matches and sites without a price */
  defaultPricePerKWh?: number;
  gpus?: GPUPrice[];
}

export interface GPUPrice {
  gpuType: string;
  /** per GPU and hour held (amortised hardware or a cloud list price) */
  costPerHour?: number;
}

// Numbers of a row being typed may still be empty; the backend reads them as 0 and says which row is incomplete.
export interface IdleFloor {
  gpuType: string;
  watts?: number;
}

export interface GPUOverride {
  gpuType: string;
  memoryGB?: number;
  tdpW?: number;
  parkedW?: number;
}

export interface ModelSize {
  model: string;
  paramsB?: number;
  /** bf16, fp16, fp8, int8, int4, mxfp4 */
  dtype?: string;
}

/** DefaultMapping() of pkg/models: standard dcgm-exporter + vLLM on Kubernetes. */
export const DEFAULT_MAPPING: Required<Omit<Mapping, 'gpuModelLabel' | 'labelFilter'>> = {
  powerMetric: 'DCGM_FI_DEV_POWER_USAGE',
  energyMetric: 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION',
  powerLimitMetric: 'DCGM_FI_DEV_POWER_MGMT_LIMIT',
  gpuTypeLabel: 'modelName',
  hostLabels: ['Hostname', 'hostname'],
  promptTokensMetric: 'vllm:prompt_tokens_total',
  generationTokensMetric: 'vllm:generation_tokens_total',
  modelLabel: 'model_name',
  namespaceLabel: 'namespace',
  joinLabels: ['namespace', 'pod'],
  joinMode: 'auto',
};

/** SGLangMapping() of pkg/models. */
export const SGLANG_MAPPING: typeof DEFAULT_MAPPING = {
  ...DEFAULT_MAPPING,
  promptTokensMetric: 'sglang:prompt_tokens_total',
  generationTokensMetric: 'sglang:generation_tokens_total',
};

/** DefaultSites() of pkg/models: NRP's sites with EPA eGRID 2022 intensities. */
export const DEFAULT_SITES: Site[] = [
  { name: 'UNL', hostPattern: 'unl\\.edu', intensity: 531 },
  { name: 'NYU', hostPattern: 'nyu\\.edu', intensity: 174 },
  { name: 'TACC', hostPattern: 'tacc|utexas\\.edu', intensity: 393 },
  { name: 'Hawaii', hostPattern: 'hawaii\\.edu', intensity: 702 },
  { name: 'Clemson', hostPattern: 'clemson\\.edu', intensity: 423 },
  { name: 'K-State', hostPattern: 'k-state\\.edu|ksu\\.edu', intensity: 555 },
  { name: 'KREONET', hostPattern: 'kreonet|kisti', intensity: 459 },
  { name: 'California', hostPattern: 'ucsd\\.edu|sdsc|ucsc\\.edu|ucsb\\.edu|berkeley\\.edu|calit2', intensity: 198 },
];

/** Settings defaults of pkg/models (applyDefaults), shown as placeholders. */
export const SETTINGS_DEFAULTS = {
  timeoutSeconds: 30,
  cacheTTLSeconds: 60,
  scrapeInterval: '30s',
  engine: 'auto' as Engine,
  recordedPrefix: 'fleet',
  pue: 1,
  defaultIntensity: 198,
  intensitySiteLabel: 'site',
  ttftP95Seconds: 2,
  itlP95Seconds: 0.2,
};

/** What a dashboard variable of this data source can list; each is a GET resource of the backend. */
export const VARIABLE_RESOURCES = ['models', 'gpu-types', 'namespaces'] as const;
export type VariableResource = (typeof VARIABLE_RESOURCES)[number];
/** What a new variable lists, and what a variable whose query names nothing lists. */
export const DEFAULT_VARIABLE_RESOURCE: VariableResource = 'models';

export interface FleetVariableQuery extends DataQuery {
  /** absent in variables saved before it had a default: those list DEFAULT_VARIABLE_RESOURCE */
  resource?: VariableResource;
}
