// The dashboard's panel types drawn with @grafana/ui: stat (VizRepeater + BigValue, as Grafana's stat panel),
// time series (TimeSeries), table (Table), and the bar and XY charts, which @grafana/ui does not export, with
// its uPlot config builder (theme-styled axes, series colors from the field config) in UPlotChart.
import React from 'react';
import {
  DataFrame,
  Field,
  FieldConfig,
  FieldType,
  formattedValueToString,
  getDisplayValueAlignmentFactors,
  getFieldDisplayName,
  getFieldDisplayValues,
  getFieldSeriesColor,
  GrafanaTheme2,
  ThresholdsMode,
  TimeRange,
  VizOrientation,
} from '@grafana/data';
import {
  AxisPlacement,
  BigValue,
  DrawStyle,
  LegendDisplayMode,
  PointVisibility,
  ScaleDirection,
  ScaleDistribution,
  ScaleOrientation,
  Table,
  TimeSeries,
  UPlotChart,
  UPlotConfigBuilder,
  useTheme2,
  VizLayout,
  VizLegend,
  VizLegendItem,
  VizRepeater,
} from '@grafana/ui';

import { Panel } from './data';

export interface PanelProps {
  panel: Panel;
  frames: DataFrame[];
  width: number;
  height: number;
  timeRange: TimeRange;
}

interface PanelType {
  /** The field config defaults of Grafana's panel plugin, under the dashboard's. */
  defaults: FieldConfig;
  Viz: React.ComponentType<PanelProps>;
}

// Every panel plugin's standard defaults: Grafana's thresholds (green, red from 80).
const STANDARD: FieldConfig = {
  thresholds: {
    mode: ThresholdsMode.Absolute,
    steps: [
      { color: 'green', value: -Infinity },
      { color: 'red', value: 80 },
    ],
  },
};

const GRAPH_DEFAULTS: FieldConfig = {
  ...STANDARD,
  color: { mode: 'palette-classic' },
  custom: {
    drawStyle: 'line',
    lineInterpolation: 'linear',
    lineWidth: 1,
    fillOpacity: 0,
    gradientMode: 'none',
    showPoints: 'auto',
    pointSize: 5,
    spanNulls: false,
    axisPlacement: 'auto',
    axisColorMode: 'text',
    axisLabel: '',
    scaleDistribution: { type: 'linear' },
    stacking: { mode: 'none', group: 'A' },
    hideFrom: { legend: false, tooltip: false, viz: false },
    thresholdsStyle: { mode: 'off' },
    lineStyle: { fill: 'solid' },
  },
};

function StatViz({ panel, frames, width, height }: PanelProps) {
  const theme = useTheme2();
  const options = panel.options ?? {};
  const values = getFieldDisplayValues({
    data: frames,
    reduceOptions: options.reduceOptions,
    fieldConfig: panel.fieldConfig ?? { defaults: {}, overrides: [] },
    replaceVariables: (v) => v,
    theme,
    timeZone: 'utc',
  });
  return (
    <VizRepeater
      source={frames}
      getValues={() => values}
      getAlignmentFactors={getDisplayValueAlignmentFactors}
      renderValue={({ value, width, height, alignmentFactors, count }) => (
        <BigValue
          value={value.display}
          width={width}
          height={height}
          count={count}
          colorMode={options.colorMode}
          graphMode={options.graphMode}
          justifyMode={options.justifyMode}
          textMode={options.textMode}
          alignmentFactors={alignmentFactors}
          theme={theme}
        />
      )}
      width={width}
      height={height}
      itemSpacing={3}
      renderCounter={0}
      autoGrid
      orientation={options.orientation as VizOrientation}
      minVizWidth={75}
      minVizHeight={75}
    />
  );
}

function TimeSeriesViz({ panel, frames, width, height, timeRange }: PanelProps) {
  const options = panel.options ?? {};
  return (
    <TimeSeries
      frames={frames}
      timeRange={timeRange}
      timeZone="utc"
      width={width}
      height={height}
      legend={{ showLegend: true, ...options.legend }}
      options={options}
    />
  );
}

function TableViz({ panel, frames, width, height }: PanelProps) {
  const options = panel.options ?? {};
  const frame = frames[options.frameIndex ?? 0];
  // Grafana 12 matches the footer's fields by display name (it turns them into a byNames override); the Table
  // @grafana/ui exports by field name.
  const footer = options.footer && {
    ...options.footer,
    fields: frame.fields
      .filter((f) => options.footer.fields?.includes(getFieldDisplayName(f, frame)))
      .map((f) => f.name),
  };
  return (
    <Table
      data={frame}
      width={width}
      height={height}
      noHeader={options.showHeader === false}
      initialSortBy={options.sortBy}
      footerOptions={footer}
      cellHeight={options.cellHeight}
      fieldConfig={panel.fieldConfig}
    />
  );
}

const numbers = (frame: DataFrame) => frame.fields.filter((f) => f.type === FieldType.number);
const color = (field: Field, theme: GrafanaTheme2) => getFieldSeriesColor(field, theme).color;
const format = (field: Field) => (v: number) => formattedValueToString(field.display!(v));

function legend(series: Array<{ field: Field; frame: DataFrame }>, frames: DataFrame[], theme: GrafanaTheme2) {
  const items: VizLegendItem[] = series.map(({ field, frame }) => ({
    label: getFieldDisplayName(field, frame, frames),
    color: color(field, theme),
    yAxis: 1,
  }));
  return (
    <VizLayout.Legend placement="bottom">
      <VizLegend items={items} displayMode={LegendDisplayMode.List} placement="bottom" />
    </VizLayout.Legend>
  );
}

// Grafana's bar chart: one bar per row of the frame (its first string field names it), one segment per number
// field. Here stacked and horizontal, as the dashboard's bar charts are.
function BarChartViz({ panel, frames, width, height }: PanelProps) {
  const theme = useTheme2();
  const options = panel.options ?? {};
  const frame = frames[0];
  const names = frame.fields.find((f) => f.type === FieldType.string)!.values;
  const values = numbers(frame);
  const builder = new UPlotConfigBuilder();
  builder.addScale({
    scaleKey: 'x',
    isTime: false,
    orientation: ScaleOrientation.Vertical,
    direction: ScaleDirection.Down,
    range: () => [-0.5, names.length - 0.5],
  });
  builder.addAxis({
    scaleKey: 'x',
    placement: AxisPlacement.Left,
    splits: () => names.map((_, i) => i),
    values: (_u, splits) => splits.map((i) => names[i]),
    grid: { show: false },
    ticks: { show: false },
    gap: 12,
    theme,
  });
  builder.addScale({
    scaleKey: 'value',
    orientation: ScaleOrientation.Horizontal,
    direction: ScaleDirection.Right,
    softMin: 0,
  });
  builder.addAxis({ scaleKey: 'value', placement: AxisPlacement.Bottom, formatValue: format(values[0]), theme });
  // Stacked: each segment ends at the running total; the totals are drawn first so each segment shows only its
  // own part.
  const totals = values.map((_, k) =>
    names.map((_, row) => values.slice(0, k + 1).reduce((s, f) => s + (f.values[row] ?? 0), 0))
  );
  for (const k of [...values.keys()].reverse()) {
    const field = values[k];
    builder.addSeries({
      scaleKey: 'value',
      drawStyle: DrawStyle.Bars,
      barWidthFactor: options.groupWidth * options.barWidth,
      lineWidth: field.config.custom?.lineWidth ?? 1,
      lineColor: color(field, theme),
      fillOpacity: field.config.custom?.fillOpacity,
      showPoints: PointVisibility.Never,
      theme,
    });
  }
  const data: [number[], ...Array<Array<number | null>>] = [names.map((_, i) => i), ...totals.reverse()];
  return (
    <VizLayout
      width={width}
      height={height}
      legend={legend(
        values.map((field) => ({ field, frame })),
        frames,
        theme
      )}
    >
      {(w, h) => <UPlotChart config={builder} data={data} width={w} height={h} />}
    </VizLayout>
  );
}

// Grafana's XY chart with its "auto" mapping: in every frame the first number field is x and each other number
// field not hidden from the viz is a series, drawn as its field config says (points or lines). Both axes log,
// as the panel's defaults set them: steps without traffic have no J/token and are not drawn.
function XYChartViz({ frames, width, height }: PanelProps) {
  const theme = useTheme2();
  const series = frames.flatMap((frame) => {
    const [x, ...ys] = numbers(frame);
    return ys.filter((y) => !y.config.custom?.hideFrom?.viz).map((y) => ({ x, y, frame }));
  });
  const xs = [...new Set(series.flatMap(({ x, y }) => x.values.filter((v, i) => v > 0 && y.values[i] > 0)))].sort(
    (a, b) => a - b
  );
  const index = new Map(xs.map((v, i) => [v, i]));
  const data: [number[], ...Array<Array<number | null>>] = [xs];
  const builder = new UPlotConfigBuilder();
  builder.setPadding([null, 40, null, null]); // room for the last x label; the other sides as uPlot sizes them
  const log = (scaleKey: string, orientation: ScaleOrientation, direction: ScaleDirection) =>
    builder.addScale({ scaleKey, orientation, direction, distribution: ScaleDistribution.Log, log: 10 });
  log('x', ScaleOrientation.Horizontal, ScaleDirection.Right);
  log('y', ScaleOrientation.Vertical, ScaleDirection.Up);
  const [first] = series;
  builder.addAxis({
    scaleKey: 'x',
    placement: AxisPlacement.Bottom,
    label: getFieldDisplayName(first.x),
    formatValue: format(first.x),
    distr: ScaleDistribution.Log,
    theme,
  });
  builder.addAxis({
    scaleKey: 'y',
    placement: AxisPlacement.Left,
    formatValue: format(first.y),
    distr: ScaleDistribution.Log,
    theme,
  });
  for (const { x, y } of series) {
    const values: Array<number | null> = xs.map(() => null);
    x.values.forEach((v, i) => index.has(v) && y.values[i] > 0 && (values[index.get(v)!] = y.values[i]));
    data.push(values);
    const lines = y.config.custom?.show === 'lines';
    builder.addSeries({
      scaleKey: 'y',
      drawStyle: lines ? DrawStyle.Line : DrawStyle.Points,
      lineWidth: lines ? 2 : 1,
      pointSize: y.config.custom?.pointSize?.fixed ?? 5,
      showPoints: lines ? PointVisibility.Never : PointVisibility.Always,
      spanNulls: true,
      lineColor: color(y, theme),
      theme,
    });
  }
  return (
    <VizLayout
      width={width}
      height={height}
      legend={legend(
        series.map(({ y, frame }) => ({ field: y, frame })),
        frames,
        theme
      )}
    >
      {(w, h) => <UPlotChart config={builder} data={data} width={w} height={h} />}
    </VizLayout>
  );
}

export const PANEL_TYPES: Record<string, PanelType> = {
  stat: { defaults: STANDARD, Viz: StatViz },
  timeseries: { defaults: GRAPH_DEFAULTS, Viz: TimeSeriesViz },
  table: {
    defaults: { ...STANDARD, custom: { align: 'auto', cellOptions: { type: 'auto' }, inspect: false } },
    Viz: TableViz,
  },
  barchart: { defaults: GRAPH_DEFAULTS, Viz: BarChartViz },
  xychart: { defaults: GRAPH_DEFAULTS, Viz: XYChartViz },
};
