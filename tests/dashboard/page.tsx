// A static preview of the provisioned dashboard (provisioning/dashboards/fleet-efficiency.json) for the README's
// picture: its rows and panels on Grafana's grid, each drawn with @grafana/ui from the frames the plugin answered
// in demo mode (frames.json, written by tests/dashboard/frames). Not Grafana: nothing is queried from here.
import React, { useEffect } from 'react';
import { createRoot } from 'react-dom/client';
import { css } from '@emotion/css';
import { createTheme, DataFrame, dateTime, FieldType, GrafanaTheme2, rangeUtil, TimeRange } from '@grafana/data';
import {
  ButtonGroup,
  GlobalStyles,
  Icon,
  InlineLabel,
  PanelChrome,
  RefreshPicker,
  Select,
  ThemeContext,
  ToolbarButton,
  useStyles2,
} from '@grafana/ui';

import dashboardJSON from '../../provisioning/dashboards/fleet-efficiency.json';
import { Dashboard, noticesBySeverity, Panel, panelFrames, Preview } from './data';
import { PANEL_TYPES } from './panels';

const dashboard = dashboardJSON as unknown as Dashboard;
const theme = createTheme({ colors: { mode: 'dark' } });

// Grafana's dashboard grid: 24 columns, rows of 30 px, 8 px between cells.
const COLUMNS = 24;
const CELL_HEIGHT = 30;
const MARGIN = 8;
const WIDTH = 1600;
const PADDING = 16;
const columnWidth = (WIDTH - 2 * PADDING - (COLUMNS - 1) * MARGIN) / COLUMNS;

function box({ x, y, w, h }: Panel['gridPos']) {
  return {
    left: x * (columnWidth + MARGIN),
    top: y * (CELL_HEIGHT + MARGIN),
    width: w * columnWidth + (w - 1) * MARGIN,
    height: h * CELL_HEIGHT + (h - 1) * MARGIN,
  };
}

const getStyles = (t: GrafanaTheme2) => ({
  page: css({ width: WIDTH, background: t.colors.background.canvas }),
  nav: css({
    display: 'flex',
    alignItems: 'center',
    gap: t.spacing(1.5),
    height: 40,
    padding: t.spacing(0, 2),
    background: t.colors.background.primary,
    borderBottom: `1px solid ${t.colors.border.weak}`,
    color: t.colors.text.secondary,
  }),
  current: css({ color: t.colors.text.primary }),
  controls: css({ display: 'flex', alignItems: 'center', gap: t.spacing(1), padding: t.spacing(2, 2, 1) }),
  variable: css({ display: 'flex' }),
  spacer: css({ flexGrow: 1 }),
  grid: css({ position: 'relative', margin: t.spacing(1, 2, 2) }),
  row: css({
    display: 'flex',
    alignItems: 'center',
    gap: t.spacing(1),
    fontSize: t.typography.h5.fontSize,
    fontWeight: t.typography.fontWeightMedium,
  }),
  notice: css({ color: t.colors.warning.text }),
});

// The dashboard's time range, resolved by tests/dashboard/frames to the week it answered.
const RAW_RANGE = { from: 'now-7d', to: 'now' };

function Dashboard({ preview, frames }: { preview: Preview; frames: Map<number, DataFrame[]> }) {
  const styles = useStyles2(getStyles);
  const timeRange: TimeRange = { from: dateTime(preview.fromMs), to: dateTime(preview.toMs), raw: RAW_RANGE };
  const height = Math.max(...dashboard.panels.map((p) => box(p.gridPos).top + box(p.gridPos).height));
  const noop = () => {};
  useEffect(() => {
    document.body.dataset.rendered = 'true';
  }, []);
  return (
    <div id="dashboard" className={styles.page}>
      <nav className={styles.nav}>
        <Icon name="bars" />
        <span>Home</span>
        <Icon name="angle-right" />
        <span>Dashboards</span>
        <Icon name="angle-right" />
        <span className={styles.current}>{dashboard.title}</span>
      </nav>
      <div className={styles.controls}>
        <div className={styles.variable}>
          <InlineLabel width="auto">Data source</InlineLabel>
          <Select width={26} value="ds" options={[{ label: 'GPU Fleet Efficiency', value: 'ds' }]} onChange={noop} />
        </div>
        <div className={styles.variable}>
          <InlineLabel width="auto">Model</InlineLabel>
          <Select width={12} value="all" options={[{ label: 'All', value: 'all' }]} onChange={noop} />
        </div>
        <div className={styles.spacer} />
        {/* Grafana's TimeRangePicker wants icons @grafana/ui does not ship: its time button and zoom out. */}
        <ButtonGroup>
          <ToolbarButton icon="clock-nine" isOpen={false}>
            {rangeUtil.describeTimeRange(RAW_RANGE)}
          </ToolbarButton>
          <ToolbarButton icon="search-minus" aria-label="Zoom out time range" />
        </ButtonGroup>
        <RefreshPicker onIntervalChanged={noop} onRefresh={noop} value="" />
      </div>
      <div className={styles.grid} style={{ height }}>
        {dashboard.panels.map((panel) => {
          const { left, top, width, height } = box(panel.gridPos);
          const place = { position: 'absolute' as const, left, top, width, height };
          if (panel.type === 'row') {
            return (
              <div key={panel.id} className={styles.row} style={place} data-row={panel.title}>
                <Icon name="angle-down" />
                {panel.title}
              </div>
            );
          }
          const { Viz } = PANEL_TYPES[panel.type];
          const data = frames.get(panel.id)!;
          const notices = [...noticesBySeverity(data)].map(([severity, texts]) => (
            <Icon
              key={severity}
              className={styles.notice}
              name={severity === 'info' ? 'info-circle' : 'exclamation-triangle'}
              title={texts.join('\n')}
            />
          ));
          return (
            <div
              key={panel.id}
              style={place}
              data-panel={panel.title}
              data-type={panel.type}
              data-values={numbers(data)}
            >
              <PanelChrome
                title={panel.title}
                description={panel.description}
                titleItems={notices}
                width={width}
                height={height}
              >
                {(innerWidth, innerHeight) => (
                  <Viz panel={panel} frames={data} width={innerWidth} height={innerHeight} timeRange={timeRange} />
                )}
              </PanelChrome>
            </div>
          );
        })}
      </div>
    </div>
  );
}

// The finite numbers in a panel's frames: what the browser check expects to see drawn.
const numbers = (frames: DataFrame[]) =>
  frames
    .flatMap((f) => f.fields.filter((field) => field.type === FieldType.number))
    .reduce((n, field) => n + field.values.filter(Number.isFinite).length, 0);

async function load() {
  const preview: Preview = await (await fetch('frames.json')).json();
  const frames = new Map<number, DataFrame[]>();
  for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
    const type = PANEL_TYPES[panel.type];
    if (!type) {
      throw new Error(`panel "${panel.title}": the preview does not draw ${panel.type} panels`);
    }
    frames.set(panel.id, await panelFrames(preview, panel, type.defaults, theme));
  }
  createRoot(document.getElementById('root')!).render(
    <ThemeContext.Provider value={theme}>
      <GlobalStyles />
      <Dashboard preview={preview} frames={frames} />
    </ThemeContext.Provider>
  );
}

load().catch((err) => console.error(err));
