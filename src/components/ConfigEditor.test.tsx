import React, { useState } from 'react';
import { DataSourceSettings } from '@grafana/data';
import { config } from '@grafana/runtime';
import { render, screen, within } from '@testing-library/react';
import userEvent, { UserEvent } from '@testing-library/user-event';

import { giveElementsASize } from '../test/layout';
import { dataSourceSettings as settings } from '../test/settings';
import { DEFAULT_SITES, FleetOptions, SGLANG_MAPPING } from '../types';
import { ConfigEditor } from './ConfigEditor';

/** Renders the editor the way Grafana does, keeping the settings it reports; returns the latest settings. */
function renderConfig(initial: DataSourceSettings<FleetOptions>) {
  let current = initial;
  function Wrapper() {
    const [options, setOptions] = useState(initial);
    return (
      <ConfigEditor
        options={options}
        onOptionsChange={(o) => {
          current = o;
          setOptions(o);
        }}
      />
    );
  }
  const view = render(<Wrapper />);
  return { view, user: userEvent.setup({ delay: null }), settings: () => current };
}

/** Types text into a field at once (one input event), as pasting does. */
async function fill(user: UserEvent, input: HTMLElement, text: string) {
  await user.click(input);
  await user.paste(text);
}

// The engine's Combobox lists its options only where elements have a size.
beforeAll(giveElementsASize);

describe('ConfigEditor', () => {
  it('shows the Prometheus connection, its auth, and the plugin settings with their defaults', () => {
    renderConfig(settings());
    expect(screen.getByRole('textbox', { name: /URL/ })).toHaveValue('http://prometheus:9090');
    expect(screen.getByText('Authentication')).toBeInTheDocument();
    expect(screen.getByLabelText('Scrape interval')).toHaveAttribute('placeholder', '30s');
    expect(screen.getByLabelText('Timeout (s)')).toHaveAttribute('placeholder', '30');
    expect(screen.getByLabelText('GPU power (W)')).toHaveAttribute('placeholder', 'DCGM_FI_DEV_POWER_USAGE');
    expect(screen.getByLabelText('Prompt tokens')).toHaveAttribute('placeholder', 'vllm:prompt_tokens_total');
    expect(screen.getByRole('radio', { name: 'dcgm-exporter + vLLM' })).toBeChecked();
    expect(screen.getByRole('heading', { name: 'Carbon' })).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'Catalog overrides' })).toBeInTheDocument();
  });

  it('the demo switch selects the simulated fleet and sets the connection aside', async () => {
    const { user, settings: latest } = renderConfig(settings());
    await user.click(screen.getByLabelText('Demo fleet'));
    expect(latest().jsonData.mode).toBe('demo');
    expect(screen.queryByRole('textbox', { name: /URL/ })).not.toBeInTheDocument();
    expect(screen.getByText(/Queries answer from a simulated fleet/)).toBeInTheDocument();

    await fill(user, screen.getByLabelText('Demo seed'), '7');
    expect(latest().jsonData.demoSeed).toBe(7);
  });

  it('the engine is one of those the backend knows; recorded series are read unless turned off', async () => {
    const { user, settings: latest } = renderConfig(settings());
    const engine = screen.getByRole('combobox', { name: 'Engine' });
    expect(engine).toHaveValue('Auto-detect');
    await user.click(engine);
    expect((await screen.findAllByRole('option')).map((o) => o.textContent)).toEqual([
      'Auto-detect',
      'Prometheus',
      'Thanos',
      'Mimir / Cortex',
      'VictoriaMetrics',
    ]);
    await user.click(screen.getByRole('option', { name: 'Thanos' }));
    expect(latest().jsonData.engine).toBe('thanos');

    expect(screen.getByLabelText('Recorded prefix')).toHaveAttribute('placeholder', 'fleet');
    await fill(user, screen.getByLabelText('Recorded prefix'), 'nrp-fleet');
    expect(screen.getByText('"nrp-fleet" is not a Prometheus metric name.')).toBeInTheDocument();
    await user.click(screen.getByLabelText('Recorded series'));
    expect(latest().jsonData.recordingRules).toBe('off');
    expect(screen.queryByLabelText('Recorded prefix')).not.toBeInTheDocument();
  });

  it('the SGLang preset fills the token metrics and keeps the cluster filter', async () => {
    const { user, settings: latest } = renderConfig(
      settings({ jsonData: { mapping: { labelFilter: 'cluster="nrp"' } } })
    );
    await user.click(screen.getByRole('radio', { name: 'SGLang' }));
    expect(latest().jsonData.mapping).toEqual({ ...SGLANG_MAPPING, labelFilter: 'cluster="nrp"' });
    expect(screen.getByLabelText('Prompt tokens')).toHaveValue('sglang:prompt_tokens_total');
    expect(screen.getByRole('radio', { name: 'SGLang' })).toBeChecked();
  });

  it('edits mapping fields and says which names Prometheus would not accept', async () => {
    const { user, settings: latest } = renderConfig(settings());
    await fill(user, screen.getByLabelText('Model label'), 'served-model');
    expect(latest().jsonData.mapping?.modelLabel).toBe('served-model');
    expect(screen.getByText('"served-model" is not a Prometheus label name.')).toBeInTheDocument();
    expect(screen.getByRole('radio', { name: 'dcgm-exporter + vLLM' })).not.toBeChecked();
  });

  it('checks the scrape interval and timeout before saving', async () => {
    const { user, settings: latest } = renderConfig(settings());
    await fill(user, screen.getByLabelText('Scrape interval'), '15');
    expect(screen.getByText('"15" is not a duration such as 30s, 1m or 1m30s.')).toBeInTheDocument();
    await fill(user, screen.getByLabelText('Scrape interval'), 's');
    expect(screen.queryByText(/is not a duration/)).not.toBeInTheDocument();
    await user.type(screen.getByLabelText('Timeout (s)'), '900');
    expect(latest().jsonData).toMatchObject({ scrapeInterval: '15s', timeoutSeconds: 900 });
    expect(screen.getByText('Must be a number from 1 to 600 (s).')).toBeInTheDocument();
  });

  it('carbon: NRP sites apply until edited, then the whole table is saved', async () => {
    const { user, settings: latest } = renderConfig(settings());
    await user.click(screen.getByRole('button', { name: 'Expand section Carbon' }));
    expect(screen.getByText(/NRP's sites \(EPA eGRID 2022\) apply/)).toBeInTheDocument();
    expect(screen.getByLabelText('Sites, row 1, Site')).toHaveValue('UNL');

    const intensity = screen.getByLabelText('Sites, row 2, gCO₂/kWh');
    await user.clear(intensity);
    await fill(user, intensity, '150');
    const sites = latest().jsonData.carbon?.sites;
    expect(sites).toHaveLength(DEFAULT_SITES.length);
    expect(sites?.[1]).toEqual({ name: 'NYU', hostPattern: 'nyu\\.edu', intensity: 150 });

    await user.type(screen.getByLabelText('Sites, row 1, Host pattern (regex)'), '(');
    expect(screen.getByText(/Not a valid regular expression/)).toBeInTheDocument();

    await fill(user, screen.getByLabelText('PUE'), '1.4');
    expect(latest().jsonData.carbon?.pue).toBe(1.4);

    await user.click(screen.getByRole('button', { name: 'Reset to NRP sites' }));
    expect(latest().jsonData.carbon?.sites).toBeUndefined();
  });

  it('cost: a currency, a price per site and per GPU type; nothing priced until set', async () => {
    const { user, settings: latest } = renderConfig(settings());
    await user.click(screen.getByRole('button', { name: 'Expand section Cost' }));
    expect(screen.getByLabelText('Default price per kWh')).toHaveAttribute('placeholder', 'none');

    await fill(user, screen.getByLabelText('Currency'), 'usd');
    expect(screen.getByText(/An ISO 4217 code in capitals/)).toBeInTheDocument();
    await user.clear(screen.getByLabelText('Currency'));
    await fill(user, screen.getByLabelText('Currency'), 'EUR');
    expect(screen.queryByText(/An ISO 4217 code in capitals/)).not.toBeInTheDocument();
    expect(latest().jsonData.cost?.currency).toBe('EUR');

    await user.click(screen.getByRole('button', { name: 'Add GPU cost' }));
    await fill(user, screen.getByLabelText('GPU costs, row 1, GPU type'), 'NVIDIA L40');
    await fill(user, screen.getByLabelText('GPU costs, row 1, Cost per GPU-hour'), '1.2');
    expect(latest().jsonData.cost?.gpus).toEqual([{ gpuType: 'NVIDIA L40', costPerHour: 1.2 }]);

    await user.click(screen.getByRole('button', { name: 'Expand section Carbon' }));
    await fill(user, screen.getByLabelText('Sites, row 1, Price per kWh'), '0.09');
    expect(latest().jsonData.carbon?.sites?.[0]).toEqual({ ...DEFAULT_SITES[0], pricePerKWh: 0.09 });
  });

  it('carbon: PUE and live intensity per site, the shared intensity query, embodied carbon', async () => {
    const { user, settings: latest } = renderConfig(settings());
    await user.click(screen.getByRole('button', { name: 'Expand section Carbon' }));

    await fill(user, screen.getByLabelText('Sites, row 3, PUE'), '1.3');
    await fill(
      user,
      screen.getByLabelText('Sites, row 3, Live gCO₂/kWh (PromQL)'),
      'grid_intensity_carbon_actual{region="US-TEX-ERCO"}'
    );
    expect(latest().jsonData.carbon?.sites?.[2]).toEqual({
      name: 'TACC',
      hostPattern: 'tacc|utexas\\.edu',
      intensity: 393,
      pue: 1.3,
      intensityQuery: 'grid_intensity_carbon_actual{region="US-TEX-ERCO"}',
    });
    await fill(user, screen.getByLabelText('Sites, row 1, PUE'), '0.8');
    expect(screen.getByText('Must be a number from 1 to 5 (PUE).')).toBeInTheDocument();

    await fill(user, screen.getByLabelText('Live grid intensity'), 'grid_intensity_carbon_actual');
    expect(screen.getByLabelText('Site label')).toHaveAttribute('placeholder', 'site');
    await fill(user, screen.getByLabelText('Site label'), 'the region');
    expect(screen.getByText('"the region" is not a Prometheus label name.')).toBeInTheDocument();
    expect(latest().jsonData.carbon).toMatchObject({
      intensityQuery: 'grid_intensity_carbon_actual',
      intensitySiteLabel: 'the region',
    });

    await user.click(screen.getByRole('button', { name: 'Add GPU type' }));
    await fill(user, screen.getByLabelText('Embodied carbon, row 1, GPU type'), 'NVIDIA L40');
    await fill(user, screen.getByLabelText('Embodied carbon, row 1, kgCO₂e per GPU'), '900');
    expect(screen.getByText(/Set the service life/)).toBeInTheDocument();
    await fill(user, screen.getByLabelText('GPU service life (years)'), '4');
    expect(screen.queryByText(/Set the service life/)).not.toBeInTheDocument();
    expect(latest().jsonData.carbon).toMatchObject({
      embodied: [{ gpuType: 'NVIDIA L40', kgCO2e: 900 }],
      serviceLifeYears: 4,
    });
  });

  it('latency SLOs: the defaults as placeholders, 0 to leave one unchecked, ranges checked', async () => {
    const { user, settings: latest } = renderConfig(settings());
    await user.click(screen.getByRole('button', { name: 'Expand section Latency SLOs' }));
    const ttft = screen.getByLabelText('Time to first token p95 (s)');
    expect(ttft).toHaveAttribute('placeholder', '2');
    expect(screen.getByLabelText('Inter-token latency p95 (s)')).toHaveAttribute('placeholder', '0.2');
    await fill(user, ttft, '5');
    await fill(user, screen.getByLabelText('Inter-token latency p95 (s)'), '0');
    expect(latest().jsonData.slo).toEqual({ ttftP95Seconds: 5, itlP95Seconds: 0 });
    await fill(user, screen.getByLabelText('Inter-token latency p95 (s)'), '99');
    expect(screen.getByText('Must be a number from 0 to 60 (s).')).toBeInTheDocument();
  });

  it('overrides: idle floors, GPU types and model sizes are small editable tables', async () => {
    const { user, settings: latest } = renderConfig(
      settings({ jsonData: { modelSizes: [{ model: 'olmo-2-32b', paramsB: 32, dtype: 'bf16' }] } })
    );
    await user.click(screen.getByRole('button', { name: 'Expand section Catalog overrides' }));

    await user.click(screen.getByRole('button', { name: 'Add idle floor' }));
    await fill(user, screen.getByLabelText('Idle floors, row 1, GPU type'), 'NVIDIA L40S');
    expect(screen.getByText('Fill in every column.')).toBeInTheDocument();
    await user.type(screen.getByLabelText('Idle floors, row 1, Idle floor (W)'), '82');
    expect(latest().jsonData.idleFloors).toEqual([{ gpuType: 'NVIDIA L40S', watts: 82 }]);

    await user.click(screen.getByRole('button', { name: 'Add GPU type' }));
    await fill(user, screen.getByLabelText('GPU types, row 1, GPU type'), 'NVIDIA B200');
    await user.type(screen.getByLabelText('GPU types, row 1, Memory (GB)'), '180');
    expect(latest().jsonData.gpus).toEqual([{ gpuType: 'NVIDIA B200', memoryGB: 180 }]);

    const modelSizes = screen.getByRole('table', { name: 'Model sizes' });
    expect(within(modelSizes).getByLabelText('Model sizes, row 1, Model')).toHaveValue('olmo-2-32b');
    await user.click(within(modelSizes).getByRole('button', { name: 'Remove row 1' }));
    expect(latest().jsonData.modelSizes).toEqual([]);
  });

  describe('secrets', () => {
    const withSecrets = settings({
      basicAuth: true,
      basicAuthUser: 'grafana',
      jsonData: { httpHeaderName1: 'Authorization' } as FleetOptions,
      secureJsonFields: { basicAuthPassword: true, httpHeaderValue1: true },
    });

    it('a saved password or header value shows as configured, never as text', () => {
      const { view } = renderConfig(withSecrets);
      const password = screen.getByLabelText(/^Password/);
      expect(password).toHaveValue('configured');
      expect(password).toBeDisabled();
      expect(screen.getAllByRole('button', { name: 'Reset' }).length).toBeGreaterThanOrEqual(1);
      const headerValue = screen.getByPlaceholderText(/Header value/i);
      expect(headerValue).toHaveValue('configured');
      expect(headerValue).toBeDisabled();
      // Grafana never sends secrets to the browser; nothing else may stand in for them either.
      expect(view.container.innerHTML).not.toMatch(/Bearer|secret/i);
    });

    it('a new password goes to secureJsonData through a password field', async () => {
      const { user, settings: latest } = renderConfig(withSecrets);
      await user.click(screen.getAllByRole('button', { name: 'Reset' })[0]);
      expect(latest().secureJsonFields.basicAuthPassword).toBe(false);
      const password = screen.getByLabelText(/^Password/);
      expect(password).toHaveAttribute('type', 'password');
      await fill(user, password, 's3cr3t');
      expect(latest().secureJsonData).toEqual({ basicAuthPassword: 's3cr3t' });
      expect(latest().jsonData).not.toHaveProperty('basicAuthPassword');
      expect(screen.queryByText('s3cr3t')).not.toBeInTheDocument();
    });
  });

  describe('advanced HTTP settings', () => {
    afterEach(() => {
      config.secureSocksDSProxyEnabled = false;
    });

    it('names the cookies Grafana forwards to Prometheus', async () => {
      const { user, settings: latest } = renderConfig(settings());
      await user.click(screen.getByRole('button', { name: 'Expand section Advanced HTTP settings' }));
      await user.type(screen.getByLabelText('Allowed cookies'), 'oauth_session{Enter}');
      expect(latest().jsonData.keepCookies).toEqual(['oauth_session']);
    });

    it('hides the secure SOCKS proxy where Grafana does not enable it', async () => {
      const { user } = renderConfig(settings());
      await user.click(screen.getByRole('button', { name: 'Expand section Advanced HTTP settings' }));
      expect(screen.getByLabelText('Allowed cookies')).toBeInTheDocument();
      expect(screen.queryByText('Secure Socks Proxy')).not.toBeInTheDocument();
    });

    it('sends the requests through the secure SOCKS proxy where Grafana enables it', async () => {
      config.secureSocksDSProxyEnabled = true;
      const { user, settings: latest } = renderConfig(settings());
      await user.click(screen.getByRole('button', { name: 'Expand section Advanced HTTP settings' }));
      const proxy = screen.getByText('Secure Socks Proxy').closest('div')!;
      await user.click(within(proxy).getByRole('switch'));
      expect(latest().jsonData.enableSecureSocksProxy).toBe(true);
    });
  });
});
