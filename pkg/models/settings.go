// Package models reads what Grafana sends: the data source settings and the query JSON, with their defaults
// and validation. Errors here are the user's to fix, so they say which field and why.
package models

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Mode selects where the data source reads the fleet from.
type Mode string

const (
	ModePrometheus Mode = "prometheus"
	// ModeDemo answers every query from the built-in simulated fleet, like Grafana's TestData.
	ModeDemo Mode = "demo"
)

// Settings is the data source configuration (jsonData), defaults applied. Secrets stay in the SDK's
// HTTP client options, never here.
type Settings struct {
	Mode            Mode           `json:"mode"`
	TimeoutSeconds  float64        `json:"timeoutSeconds"`
	ScrapeInterval  string         `json:"scrapeInterval"`
	Engine          Engine         `json:"engine"`
	TenantID        string         `json:"tenantId"`
	CacheTTLSeconds float64        `json:"cacheTTLSeconds"`
	Mapping         Mapping        `json:"mapping"`
	Carbon          CarbonSettings `json:"carbon"`
	Cost            CostSettings   `json:"cost"`
	IdleFloors      []IdleFloorW   `json:"idleFloors"`
	GPUs            []GPUOverride  `json:"gpus"`
	ModelSizes      []ModelSize    `json:"modelSizes"`
	// SLO is the latency right-sizing keeps at the p95; queries may override it.
	SLO      SLOSettings `json:"slo"`
	DemoSeed int64       `json:"demoSeed"`
	// DemoNow (RFC 3339) pins the demo fleet to the day it names instead of today: the same history on every
	// run, for reproducible screenshots and for tests that compare the demo with a Prometheus holding it.
	DemoNow string `json:"demoNow"`

	// RecordingRules is "auto" (read the recorded series of the fleetrules rule file where they cover the
	// window) or "off".
	RecordingRules string `json:"recordingRules"`
	// RecordedPrefix starts the recorded series' names: "fleet" for fleet:gpu_power_watts:avg1m.
	RecordedPrefix string `json:"recordedPrefix"`

	// URL is the Prometheus base URL from the data source's URL field.
	URL string `json:"-"`
}

// Engine is the kind of Prometheus-compatible engine behind the URL.
type Engine string

const (
	// EngineAuto detects the engine from its build info.
	EngineAuto            Engine = "auto"
	EnginePrometheus      Engine = "prometheus"
	EngineThanos          Engine = "thanos"
	EngineMimir           Engine = "mimir"
	EngineVictoriaMetrics Engine = "victoriametrics"
)

// Engines are the values of the engine setting.
var Engines = []Engine{EngineAuto, EnginePrometheus, EngineThanos, EngineMimir, EngineVictoriaMetrics}

// Mapping says which metrics and labels hold power, GPU type, tokens and the GPU-to-model join.
type Mapping struct {
	PowerMetric      string `json:"powerMetric"`
	EnergyMetric     string `json:"energyMetric"`
	PowerLimitMetric string `json:"powerLimitMetric"`
	GPUTypeLabel     string `json:"gpuTypeLabel"`
	// GPULabels identify one GPU (with the host): a GPU whose series changed pod labels within a step (a
	// restarted pod, a restarted exporter) or is scraped twice is still counted once.
	GPULabels []string `json:"gpuLabels"`
	// HostLabels are tried in order: dcgm-exporter renamed Hostname to hostname in 2026.
	HostLabels             []string `json:"hostLabels"`
	PromptTokensMetric     string   `json:"promptTokensMetric"`
	GenerationTokensMetric string   `json:"generationTokensMetric"`
	ModelLabel             string   `json:"modelLabel"`
	// NamespaceLabel is the Kubernetes namespace on the token series, for each model's namespace.
	NamespaceLabel string `json:"namespaceLabel"`
	// JoinLabels join GPU series to token series; "auto" detection switches to exported_* where present.
	JoinLabels []string `json:"joinLabels"`
	// JoinMode is "auto" (detect exported_* labels), "direct" (JoinLabels as given) or "exported".
	JoinMode string `json:"joinMode"`
	// GPUModelLabel, when set, is a label on the GPU series that already names the model: no join.
	GPUModelLabel string `json:"gpuModelLabel"`
	// LabelFilter is a matcher list added to every selector, e.g. `cluster="nrp"`.
	LabelFilter string `json:"labelFilter"`
}

// SLOSettings are latency objectives at the p95 traffic, in seconds: absent, the default; 0, not checked.
type SLOSettings struct {
	TTFTP95Seconds *float64 `json:"ttftP95Seconds"`
	ITLP95Seconds  *float64 `json:"itlP95Seconds"`
}

// Default SLOs: MLPerf Inference's server-scenario limits for Llama-2-70B (see docs/right-sizing.md).
const (
	DefaultTTFTP95Seconds = 2
	DefaultITLP95Seconds  = 0.2
)

// CarbonSettings turn energy into CO2.
type CarbonSettings struct {
	PUE            float64 `json:"pue"`
	DefaultGPerKWh float64 `json:"defaultIntensity"`
	Sites          []Site  `json:"sites"`

	// Carbon that follows the grid, and embodied carbon (see carbon.go in this package).
	GridCarbonSettings
}

// Site is a grid intensity for the GPU nodes whose host name matches HostPattern (a regular expression).
type Site struct {
	Name        string  `json:"name"`
	HostPattern string  `json:"hostPattern"`
	GPerKWh     float64 `json:"intensity"`
	// PricePerKWh is the site's electricity price in the cost currency; nil when not set.
	PricePerKWh *float64 `json:"pricePerKWh,omitempty"`
	// PUE is the site's own; 0 takes the fleet's (carbon.pue).
	PUE float64 `json:"pue"`
	// IntensityQuery is a PromQL expression for this site's live grid intensity (gCO2/kWh); it wins over
	// carbon.intensityQuery for this site.
	IntensityQuery string `json:"intensityQuery"`
}

// IdleFloorW overrides the idle floor of one GPU type.
type IdleFloorW struct {
	GPUType string  `json:"gpuType"`
	Watts   float64 `json:"watts"`
}

// GPUOverride adds or corrects a GPU type in the catalog.
type GPUOverride struct {
	GPUType  string  `json:"gpuType"`
	MemoryGB float64 `json:"memoryGB"`
	TDPW     float64 `json:"tdpW"`
	ParkedW  float64 `json:"parkedW"`
}

// ModelSize gives the size of a served model the catalog and its name do not tell.
type ModelSize struct {
	Model   string  `json:"model"`
	ParamsB float64 `json:"paramsB"`
	Dtype   string  `json:"dtype"`
}

// DefaultMapping works on a standard dcgm-exporter + vLLM cluster on Kubernetes.
func DefaultMapping() Mapping {
	return Mapping{
		PowerMetric:            "DCGM_FI_DEV_POWER_USAGE",
		EnergyMetric:           "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
		PowerLimitMetric:       "DCGM_FI_DEV_POWER_MGMT_LIMIT",
		GPUTypeLabel:           "modelName",
		GPULabels:              []string{"UUID", "gpu"},
		HostLabels:             []string{"Hostname", "hostname"},
		PromptTokensMetric:     "vllm:prompt_tokens_total",
		GenerationTokensMetric: "vllm:generation_tokens_total",
		ModelLabel:             "model_name",
		NamespaceLabel:         "namespace",
		JoinLabels:             []string{"namespace", "pod"},
		JoinMode:               "auto",
	}
}

// SGLangMapping is the preset for SGLang servers.
func SGLangMapping() Mapping {
	m := DefaultMapping()
	m.PromptTokensMetric = "sglang:prompt_tokens_total"
	m.GenerationTokensMetric = "sglang:generation_tokens_total"
	return m
}

// DefaultSites are NRP's sites with EPA eGRID 2022 intensities, as NRP's own carbon API uses them.
func DefaultSites() []Site {
	return []Site{
		{Name: "UNL", HostPattern: `unl\.edu`, GPerKWh: 531},
		{Name: "NYU", HostPattern: `nyu\.edu`, GPerKWh: 174},
		{Name: "TACC", HostPattern: `tacc|utexas\.edu`, GPerKWh: 393},
		{Name: "Hawaii", HostPattern: `hawaii\.edu`, GPerKWh: 702},
		{Name: "Clemson", HostPattern: `clemson\.edu`, GPerKWh: 423},
		{Name: "K-State", HostPattern: `k-state\.edu|ksu\.edu`, GPerKWh: 555},
		{Name: "KREONET", HostPattern: `kreonet|kisti`, GPerKWh: 459},
		{Name: "California", HostPattern: `ucsd\.edu|sdsc|ucsc\.edu|ucsb\.edu|berkeley\.edu|calit2`, GPerKWh: 198},
	}
}

const (
	DefaultTimeout        = 30 * time.Second
	DefaultScrapeInterval = 30 * time.Second
	DefaultGPerKWh        = 198
	DefaultRecordedPrefix = "fleet"
	// DefaultCacheTTL is how long a finished fleet read answers other requests for its window (cacheTTLSeconds;
	// 0 turns it off): the panels of a dashboard and a refresh or two, without hiding new data for long.
	DefaultCacheTTL = 60 * time.Second
)

var metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// LoadSettings reads and validates the instance settings. The error names the field at fault.
func LoadSettings(s backend.DataSourceInstanceSettings) (*Settings, error) {
	// Set before decoding, so that an explicit 0 (no cache) stays 0.
	cfg := Settings{CacheTTLSeconds: DefaultCacheTTL.Seconds()}
	if len(s.JSONData) > 0 && string(s.JSONData) != "null" {
		if err := decodeJSON(s.JSONData, &cfg); err != nil {
			return nil, fmt.Errorf("the data source settings (jsonData) %w", err)
		}
	}
	cfg.URL = strings.TrimSpace(s.URL)
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func (c *Settings) applyDefaults() {
	if c.Mode == "" {
		c.Mode = ModePrometheus
	}
	if c.TimeoutSeconds == 0 {
		c.TimeoutSeconds = DefaultTimeout.Seconds()
	}
	if c.ScrapeInterval == "" {
		c.ScrapeInterval = DefaultScrapeInterval.String()
	}
	if c.Engine == "" {
		c.Engine = EngineAuto
	}
	setDefault(&c.RecordingRules, "auto")
	setDefault(&c.RecordedPrefix, DefaultRecordedPrefix)
	d := DefaultMapping()
	m := &c.Mapping
	setDefault(&m.PowerMetric, d.PowerMetric)
	setDefault(&m.EnergyMetric, d.EnergyMetric)
	setDefault(&m.PowerLimitMetric, d.PowerLimitMetric)
	setDefault(&m.GPUTypeLabel, d.GPUTypeLabel)
	setDefault(&m.PromptTokensMetric, d.PromptTokensMetric)
	setDefault(&m.GenerationTokensMetric, d.GenerationTokensMetric)
	setDefault(&m.ModelLabel, d.ModelLabel)
	setDefault(&m.NamespaceLabel, d.NamespaceLabel)
	setDefault(&m.JoinMode, d.JoinMode)
	if len(m.HostLabels) == 0 {
		m.HostLabels = d.HostLabels
	}
	if len(m.JoinLabels) == 0 {
		m.JoinLabels = d.JoinLabels
	}
	if len(m.GPULabels) == 0 {
		m.GPULabels = d.GPULabels
	}
	if c.Carbon.PUE == 0 {
		c.Carbon.PUE = 1
	}
	if c.SLO.TTFTP95Seconds == nil {
		c.SLO.TTFTP95Seconds = ptr(float64(DefaultTTFTP95Seconds))
	}
	if c.SLO.ITLP95Seconds == nil {
		c.SLO.ITLP95Seconds = ptr(DefaultITLP95Seconds)
	}
	if c.Carbon.DefaultGPerKWh == 0 {
		c.Carbon.DefaultGPerKWh = DefaultGPerKWh
	}
	if c.Carbon.Sites == nil {
		c.Carbon.Sites = DefaultSites()
	}
	c.Carbon.applyGridDefaults()
}

func setDefault(field *string, def string) {
	if strings.TrimSpace(*field) == "" {
		*field = def
	}
}

func (c *Settings) validate() error {
	var errs []error
	switch c.Mode {
	case ModePrometheus:
		if c.URL == "" {
			errs = append(errs, errors.New("the Prometheus URL is empty: set it under Connection, or switch on the demo fleet"))
		} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("the Prometheus URL %q is not an http(s) URL with a host", RedactURL(c.URL)))
		}
	case ModeDemo:
	default:
		errs = append(errs, fmt.Errorf("mode %q is not one of %q, %q", c.Mode, ModePrometheus, ModeDemo))
	}
	if c.TimeoutSeconds < 0 || c.TimeoutSeconds > 600 {
		errs = append(errs, fmt.Errorf("timeoutSeconds %v is outside 1..600", c.TimeoutSeconds))
	}
	if d, err := time.ParseDuration(c.ScrapeInterval); err != nil || d < time.Second || d > time.Hour {
		errs = append(errs, fmt.Errorf("scrapeInterval %q is not a duration between 1s and 1h (e.g. 30s)", c.ScrapeInterval))
	}
	if !slices.Contains(Engines, c.Engine) {
		errs = append(errs, fmt.Errorf("engine %q is not one of %q", c.Engine, Engines))
	}
	if c.RecordingRules != "auto" && c.RecordingRules != "off" {
		errs = append(errs, fmt.Errorf("recordingRules %q is not one of auto, off", c.RecordingRules))
	}
	if !labelName.MatchString(strings.ReplaceAll(c.RecordedPrefix, ":", "_")) {
		errs = append(errs, fmt.Errorf("recordedPrefix %q cannot start a Prometheus metric name (letters, digits, _ and :, e.g. fleet)", c.RecordedPrefix))
	}
	if _, err := time.Parse(time.RFC3339, c.DemoNow); c.DemoNow != "" && err != nil {
		errs = append(errs, fmt.Errorf("demoNow %q is not an RFC 3339 time (e.g. 2026-11-20T15:00:00Z)", c.DemoNow))
	}
	if c.CacheTTLSeconds < 0 {
		errs = append(errs, fmt.Errorf("cacheTTLSeconds %v is negative", c.CacheTTLSeconds))
	}
	m := c.Mapping
	for field, v := range map[string]string{
		"powerMetric": m.PowerMetric, "energyMetric": m.EnergyMetric, "powerLimitMetric": m.PowerLimitMetric,
		"promptTokensMetric": m.PromptTokensMetric, "generationTokensMetric": m.GenerationTokensMetric,
	} {
		if !metricName.MatchString(v) {
			errs = append(errs, fmt.Errorf("mapping.%s %q is not a Prometheus metric name", field, v))
		}
	}
	labels := map[string]string{"gpuTypeLabel": m.GPUTypeLabel, "modelLabel": m.ModelLabel, "namespaceLabel": m.NamespaceLabel}
	if m.GPUModelLabel != "" {
		labels["gpuModelLabel"] = m.GPUModelLabel
	}
	for i, l := range m.JoinLabels {
		labels[fmt.Sprintf("joinLabels[%d]", i)] = l
	}
	for i, l := range m.HostLabels {
		labels[fmt.Sprintf("hostLabels[%d]", i)] = l
	}
	for i, l := range m.GPULabels {
		labels[fmt.Sprintf("gpuLabels[%d]", i)] = l
	}
	for field, v := range labels {
		if !labelName.MatchString(v) {
			errs = append(errs, fmt.Errorf("mapping.%s %q is not a Prometheus label name", field, v))
		}
	}
	switch m.JoinMode {
	case "auto", "direct", "exported":
	default:
		errs = append(errs, fmt.Errorf("mapping.joinMode %q is not one of auto, direct, exported", m.JoinMode))
	}
	if c.Carbon.PUE < 1 || c.Carbon.PUE > 5 {
		errs = append(errs, fmt.Errorf("carbon.pue %v is outside 1..5", c.Carbon.PUE))
	}
	if c.Carbon.DefaultGPerKWh < 0 || c.Carbon.DefaultGPerKWh > 2000 {
		errs = append(errs, fmt.Errorf("carbon.defaultIntensity %v gCO2/kWh is outside 0..2000", c.Carbon.DefaultGPerKWh))
	}
	for i, s := range c.Carbon.Sites {
		if _, err := regexp.Compile(s.HostPattern); err != nil {
			errs = append(errs, fmt.Errorf("carbon.sites[%d] (%s): host pattern %q does not compile: %w", i, s.Name, s.HostPattern, err))
		}
		if s.GPerKWh < 0 || s.GPerKWh > 2000 {
			errs = append(errs, fmt.Errorf("carbon.sites[%d] (%s): intensity %v gCO2/kWh is outside 0..2000", i, s.Name, s.GPerKWh))
		}
	}
	errs = append(errs, c.Cost.validate(c.Carbon.Sites)...)
	errs = append(errs, c.Carbon.validateGrid()...)
	for i, f := range c.IdleFloors {
		if f.GPUType == "" || f.Watts <= 0 || f.Watts > 2000 {
			errs = append(errs, fmt.Errorf("idleFloors[%d]: needs a GPU type and watts in 0..2000, got %q and %v", i, f.GPUType, f.Watts))
		}
	}
	for i, g := range c.GPUs {
		if g.GPUType == "" || g.MemoryGB <= 0 {
			errs = append(errs, fmt.Errorf("gpus[%d]: needs a GPU type and memoryGB > 0, got %q and %v", i, g.GPUType, g.MemoryGB))
		}
	}
	for i, s := range c.ModelSizes {
		if s.Model == "" || s.ParamsB <= 0 {
			errs = append(errs, fmt.Errorf("modelSizes[%d]: needs a model and paramsB > 0, got %q and %v", i, s.Model, s.ParamsB))
		}
	}
	if ttft := c.SLO.TTFTP95Seconds; ttft != nil && !inRange(*ttft, 0, 3600) {
		errs = append(errs, fmt.Errorf("slo.ttftP95Seconds %v is outside 0..3600 (0: not checked)", *ttft))
	}
	if itl := c.SLO.ITLP95Seconds; itl != nil && !inRange(*itl, 0, 60) {
		errs = append(errs, fmt.Errorf("slo.itlP95Seconds %v is outside 0..60 (0: not checked)", *itl))
	}
	return errors.Join(errs...)
}

// Timeout is the per-request deadline.
func (c *Settings) Timeout() time.Duration {
	return time.Duration(c.TimeoutSeconds * float64(time.Second))
}

// DemoTime is the time the demo fleet is pinned to; false when it follows the clock.
func (c *Settings) DemoTime() (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, c.DemoNow)
	return t, err == nil
}

// Scrape is the scrape interval of the GPU and token metrics.
func (c *Settings) Scrape() time.Duration {
	d, _ := time.ParseDuration(c.ScrapeInterval)
	return d
}

// RedactURL drops user info and query from a URL so it can be shown in errors and logs.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

func ptr[T any](v T) *T { return &v }
