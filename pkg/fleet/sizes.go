package fleet

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Dtype is the number format of a model's weights as served.
type Dtype string

const (
	DtypeFP32  Dtype = "fp32"
	DtypeBF16  Dtype = "bf16"
	DtypeFP16  Dtype = "fp16"
	DtypeFP8   Dtype = "fp8"
	DtypeINT8  Dtype = "int8"
	DtypeINT4  Dtype = "int4"
	DtypeMXFP4 Dtype = "mxfp4"
	DtypeNVFP4 Dtype = "nvfp4"
)

// bytesPerParam is the size of one weight. The 4-bit formats leave out their block scales (~3-6%): where that
// matters, the catalog gives the checkpoint's size on disk instead.
var bytesPerParam = map[Dtype]float64{
	DtypeFP32: 4, DtypeBF16: 2, DtypeFP16: 2, DtypeFP8: 1, DtypeINT8: 1,
	DtypeINT4: 0.5, DtypeMXFP4: 0.5, DtypeNVFP4: 0.5,
}

// BytesPerParam is the size of one weight in bytes; false for a dtype this package does not know.
func (d Dtype) BytesPerParam() (float64, bool) {
	b, ok := bytesPerParam[d]
	return b, ok
}

// dtypeWords are the spellings of dtypes in served names and settings. Words that name a bit width win over
// words that name a quantization method (GPTQ and AWQ are 4-bit unless the name says "int8").
var (
	dtypeWidthWords = map[string]Dtype{
		"fp32": DtypeFP32, "float32": DtypeFP32,
		"bf16": DtypeBF16, "bfloat16": DtypeBF16,
		"fp16": DtypeFP16, "float16": DtypeFP16, "half": DtypeFP16,
		"fp8": DtypeFP8, "float8": DtypeFP8, "f8": DtypeFP8,
		"int8": DtypeINT8, "w8a8": DtypeINT8, "w8a16": DtypeINT8, "8bit": DtypeINT8, "q8": DtypeINT8,
		"int4": DtypeINT4, "w4a16": DtypeINT4, "4bit": DtypeINT4, "q4": DtypeINT4,
		"mxfp4": DtypeMXFP4, "nvfp4": DtypeNVFP4, "fp4": DtypeNVFP4,
	}
	dtypeMethodWords = map[string]Dtype{"awq": DtypeINT4, "gptq": DtypeINT4, "bnb": DtypeINT4}
)

// ParseDtype reads a dtype as users and model names spell it ("FP8", "bfloat16", "AWQ", "w4a16").
func ParseDtype(s string) (Dtype, bool) {
	w := strings.ToLower(strings.TrimSpace(s))
	if d, ok := dtypeWidthWords[w]; ok {
		return d, true
	}
	d, ok := dtypeMethodWords[w]
	return d, ok
}

// SizeSource says where a model's size came from.
type SizeSource string

const (
	// SizeCatalog is the built-in catalog of known models.
	SizeCatalog SizeSource = "catalog"
	// SizeName is a size read from the served model name ("31B", "8x7B").
	SizeName SizeSource = "name"
	// SizeSetting is an override from the data source settings.
	SizeSetting SizeSource = "setting"
	// DtypeAssumed marks a dtype nothing stated: bf16, the format most checkpoints ship in.
	DtypeAssumed SizeSource = "assumed"
)

// ModelSize is what a served model's weights take in memory. Known is false when neither the catalog, the
// name nor the settings tell the size; Reason then says so in words a person can act on.
type ModelSize struct {
	// ParamsB is the total parameter count in billions (all experts of a mixture of experts).
	ParamsB float64
	Dtype   Dtype
	// WeightsGB is the memory the weights take: the checkpoint's size on disk where the catalog knows it for
	// this dtype, else ParamsB x bytes per parameter.
	WeightsGB   float64
	Source      SizeSource
	DtypeSource SizeSource
	// Entry is the catalog entry or settings row that matched ("" for a size read from the name).
	Entry  string
	Known  bool
	Reason string
	// ActiveParamsB is what one token reads: the active parameters of a mixture of experts, else ParamsB.
	ActiveParamsB float64
	// KVBytesPerToken is the KV cache of one token (16-bit cache); KVSource says whether it is the
	// architecture's (KVFromConfig) or EstimateKVBytesPerToken's upper estimate (KVEstimated).
	KVBytesPerToken float64
	KVSource        SizeSource
}

// Where a KV size came from.
const (
	KVFromConfig SizeSource = "config"
	KVEstimated  SizeSource = "estimate"
)

// EstimateKVBytesPerToken is the KV cache per token of a model whose architecture the catalog does not know,
// from the parameters a token reads (activeParamsB): a dense transformer with multi-head attention has
// P = 12 x layers x d_model^2 parameters (Kaplan et al. 2020) and, at the usual depth of layers = d_model / 128
// (Llama-2 7B/13B: 4096/32, 5120/40), 2 x layers x d_model x 2 bytes = d_model^2 / 32 bytes of KV per token.
// Grouped-query and latent attention keep 4-16x less, so this overstates the KV of most recent models: the
// batch bound it gives is low, the safe side for a capacity estimate.
func EstimateKVBytesPerToken(activeParamsB float64) float64 {
	d := math.Cbrt(128 * activeParamsB * 1e9 / 12)
	return d * d / 32
}

// KnownModel is one entry of the model-size catalog.
type KnownModel struct {
	// Name as published; served names match it loosely (see SizeCatalog.Lookup).
	Name    string
	ParamsB float64
	// ActiveParamsB is the parameters used per token by a mixture of experts (0 for dense models): a decode
	// step reads only these.
	ActiveParamsB float64
	Dtype         Dtype
	// DiskGB is the checkpoint's size on disk in Dtype, when published (0 otherwise).
	DiskGB float64
	// KVBytesPerToken is the KV cache one token takes at a 16-bit cache, from the model's config.json (see
	// kvBytes); 0 where this catalog does not know the architecture (then estimated, see EstimateKVBytesPerToken).
	KVBytesPerToken float64
}

// kvBytes is the KV cache per token of grouped-query attention at a 16-bit cache: keys and values (2) x
// layers x KV heads x head dimension x 2 bytes.
func kvBytes(layers, kvHeads, headDim int) float64 {
	return float64(2 * layers * kvHeads * headDim * 2)
}

// mlaKVBytes is the KV cache per token of multi-head latent attention (DeepSeek-V3): one compressed latent of
// kvLoraRank + ropeDim values per layer, 2 bytes each.
func mlaKVBytes(layers, kvLoraRank, ropeDim int) float64 {
	return float64(layers * (kvLoraRank + ropeDim) * 2)
}

// DefaultModelSizes are the models of the NRP fleet and a few widely served ones, from their model cards and
// config.json (layers, KV heads, head dimension; see docs/right-sizing.md). Dtype is the format they are usually
// served in; a dtype in the served name wins.
var DefaultModelSizes = []KnownModel{
	{Name: "gpt-oss-120b", ParamsB: 117, ActiveParamsB: 5.1, Dtype: DtypeMXFP4, DiskGB: 61, KVBytesPerToken: kvBytes(36, 8, 64)},
	{Name: "gpt-oss-20b", ParamsB: 21, ActiveParamsB: 3.6, Dtype: DtypeMXFP4, DiskGB: 13, KVBytesPerToken: kvBytes(24, 8, 64)},
	{Name: "gemma-4-31B", ParamsB: 31, Dtype: DtypeBF16},
	// Served as FP8 on NRP: in bf16 (794 GB) it would not fit the 8x A100-80GB it runs on.
	{Name: "Qwen3.5-397B", ParamsB: 397, ActiveParamsB: 17, Dtype: DtypeFP8},
	{Name: "Kimi-K2.5", ParamsB: 1000, ActiveParamsB: 32, Dtype: DtypeINT4},
	{Name: "MiniMax-M2.5", ParamsB: 230, ActiveParamsB: 10, Dtype: DtypeFP8},
	{Name: "OLMo-2-7B", ParamsB: 7, Dtype: DtypeBF16, KVBytesPerToken: kvBytes(32, 32, 128)},
	{Name: "OLMo-2-13B", ParamsB: 13, Dtype: DtypeBF16, KVBytesPerToken: kvBytes(40, 40, 128)},
	{Name: "OLMo-2-32B", ParamsB: 32, Dtype: DtypeBF16, KVBytesPerToken: kvBytes(64, 8, 128)},
	{Name: "Llama-3.1-8B", ParamsB: 8, Dtype: DtypeBF16, KVBytesPerToken: kvBytes(32, 8, 128)},
	{Name: "Llama-3.1-70B", ParamsB: 70, Dtype: DtypeBF16, KVBytesPerToken: kvBytes(80, 8, 128)},
	{Name: "Llama-3.1-405B", ParamsB: 405, Dtype: DtypeBF16, KVBytesPerToken: kvBytes(126, 8, 128)},
	{Name: "Llama-3.3-70B", ParamsB: 70, Dtype: DtypeBF16, KVBytesPerToken: kvBytes(80, 8, 128)},
	{Name: "Llama-4-Scout-17B-16E", ParamsB: 109, ActiveParamsB: 17, Dtype: DtypeBF16, KVBytesPerToken: kvBytes(48, 8, 128)},
	{Name: "Llama-4-Maverick-17B-128E", ParamsB: 400, ActiveParamsB: 17, Dtype: DtypeBF16, KVBytesPerToken: kvBytes(48, 8, 128)},
	{Name: "Mixtral-8x7B", ParamsB: 46.7, ActiveParamsB: 12.9, Dtype: DtypeBF16, KVBytesPerToken: kvBytes(32, 8, 128)},
	{Name: "Mixtral-8x22B", ParamsB: 141, ActiveParamsB: 39, Dtype: DtypeBF16, KVBytesPerToken: kvBytes(56, 8, 128)},
	{Name: "DeepSeek-V3", ParamsB: 671, ActiveParamsB: 37, Dtype: DtypeFP8, KVBytesPerToken: mlaKVBytes(61, 512, 64)},
	{Name: "DeepSeek-R1", ParamsB: 671, ActiveParamsB: 37, Dtype: DtypeFP8, KVBytesPerToken: mlaKVBytes(61, 512, 64)},
	{Name: "Qwen3-235B-A22B", ParamsB: 235, ActiveParamsB: 22, Dtype: DtypeBF16, KVBytesPerToken: kvBytes(94, 4, 128)},
	{Name: "Qwen3-30B-A3B", ParamsB: 30.5, ActiveParamsB: 3.3, Dtype: DtypeBF16, KVBytesPerToken: kvBytes(48, 4, 128)},
}

// SizeOverride is a model size from the settings: it wins over the catalog and the name. An empty Dtype keeps
// the dtype the name or the catalog gives.
type SizeOverride struct {
	Model   string
	ParamsB float64
	Dtype   string
}

// ModelSizes finds the size of served models: settings overrides first, then the catalog, then a size in the
// name. The zero value knows only names.
type ModelSizes struct {
	known     []KnownModel
	overrides []SizeOverride
	// knownTokens and overrideTokens are the names' tokens, split once: every verdict looks names up.
	knownTokens, overrideTokens [][]string
}

// NewModelSizes is a size finder over a catalog and the settings' overrides.
func NewModelSizes(known []KnownModel, overrides []SizeOverride) ModelSizes {
	s := ModelSizes{known: known, overrides: overrides}
	for _, k := range known {
		s.knownTokens = append(s.knownTokens, nameTokens(k.Name))
	}
	for _, o := range overrides {
		s.overrideTokens = append(s.overrideTokens, nameTokens(o.Model))
	}
	return s
}

// DefaultSizes knows the built-in catalog and no overrides.
func DefaultSizes() ModelSizes { return NewModelSizes(DefaultModelSizes, nil) }

// nameTolerance is how far a size in the served name may differ from a catalog entry's before the entry is
// taken for a different model ("gpt-oss-120b" is 117B; "DeepSeek-R1-Distill-Qwen-32B" is not DeepSeek-R1).
const nameTolerance = 1.3

// Lookup is the size of a served model.
func (s ModelSizes) Lookup(served string) ModelSize {
	tokens := nameTokens(served)
	fromName := ParseNameSize(served)
	nameDtype, hasNameDtype := dtypeFromName(served)

	dtype := func(fallback Dtype, src SizeSource) (Dtype, SizeSource) {
		if hasNameDtype {
			return nameDtype, SizeName
		}
		return fallback, src
	}
	entry, hasEntry := s.catalogEntry(tokens, fromName)

	if i, ok := bestMatch(tokens, s.overrideTokens); ok {
		o := s.overrides[i]
		size := ModelSize{ParamsB: o.ParamsB, Source: SizeSetting, Entry: o.Model}
		switch {
		case strings.TrimSpace(o.Dtype) != "":
			d, known := ParseDtype(o.Dtype)
			if !known {
				return ModelSize{Source: SizeSetting, Entry: o.Model, Reason: fmt.Sprintf(
					"the model size setting for %q has dtype %q, which is not one of %s", o.Model, o.Dtype, dtypeList())}
			}
			size.Dtype, size.DtypeSource = d, SizeSetting
		case hasEntry:
			size.Dtype, size.DtypeSource = dtype(entry.Dtype, SizeCatalog)
		default:
			size.Dtype, size.DtypeSource = dtype(DtypeBF16, DtypeAssumed)
		}
		if hasEntry && entry.ParamsB == o.ParamsB {
			return size.withWeights(0).withArchitecture(entry)
		}
		return size.withWeights(0)
	}
	if hasEntry {
		size := ModelSize{ParamsB: entry.ParamsB, Source: SizeCatalog, Entry: entry.Name}
		size.Dtype, size.DtypeSource = dtype(entry.Dtype, SizeCatalog)
		diskGB := 0.0
		if size.Dtype == entry.Dtype {
			diskGB = entry.DiskGB
		}
		return size.withWeights(diskGB).withArchitecture(entry)
	}
	if fromName.OK {
		size := ModelSize{ParamsB: fromName.ParamsB, Source: SizeName}
		size.Dtype, size.DtypeSource = dtype(DtypeBF16, DtypeAssumed)
		return size.withWeights(0)
	}
	reason := fmt.Sprintf("the size of %q is unknown: it is not in the model catalog and its name has no size", served)
	if fromName.Reason != "" {
		reason = fmt.Sprintf("the size of %q is unknown: it is not in the model catalog and %s", served, fromName.Reason)
	}
	return ModelSize{Reason: reason + "; add it under Model sizes in the data source settings"}
}

func (m ModelSize) withWeights(diskGB float64) ModelSize {
	b, _ := m.Dtype.BytesPerParam()
	m.WeightsGB = m.ParamsB * b
	if diskGB > 0 {
		m.WeightsGB = diskGB
	}
	m.Known = m.WeightsGB > 0
	return m.withArchitecture(KnownModel{})
}

// withArchitecture adds what a decode step reads: the entry's active parameters and KV size where the catalog
// knows them, else all parameters and the estimated KV size.
func (m ModelSize) withArchitecture(e KnownModel) ModelSize {
	m.ActiveParamsB = m.ParamsB
	if e.ActiveParamsB > 0 && e.ActiveParamsB < m.ParamsB {
		m.ActiveParamsB = e.ActiveParamsB
	}
	m.KVBytesPerToken, m.KVSource = e.KVBytesPerToken, KVFromConfig
	if e.KVBytesPerToken <= 0 && m.ParamsB > 0 {
		m.KVBytesPerToken, m.KVSource = EstimateKVBytesPerToken(m.ActiveParamsB), KVEstimated
	}
	return m
}

// ActiveWeightsGB is what one decode step reads of the weights: the active share of WeightsGB.
func (m ModelSize) ActiveWeightsGB() float64 {
	if m.ParamsB <= 0 {
		return m.WeightsGB
	}
	return m.WeightsGB * m.ActiveParamsB / m.ParamsB
}

// catalogEntry is the longest catalog name matching the served name's tokens, unless a size in the name
// says it is another model.
func (s ModelSizes) catalogEntry(tokens []string, fromName NameSize) (KnownModel, bool) {
	i, ok := bestMatch(tokens, s.knownTokens)
	if !ok {
		return KnownModel{}, false
	}
	e := s.known[i]
	if fromName.OK && (fromName.ParamsB > e.ParamsB*nameTolerance || fromName.ParamsB < e.ParamsB/nameTolerance) {
		return KnownModel{}, false
	}
	return e, true
}

// bestMatch is the index of the candidate whose name tokens appear, in order, among the served name's tokens
// (so "openai/gpt-oss-120b", "GPT-OSS-120B" and "gpt-oss-120b-FP8" all match "gpt-oss-120b"); the candidate
// with the most tokens wins ("Kimi-K2.5" over "Kimi-K2"), and among equals the later one (settings appended
// last win).
func bestMatch(tokens []string, candidates [][]string) (int, bool) {
	best, bestLen := -1, 0
	for i, want := range candidates {
		if len(want) >= bestLen && len(want) > 0 && isSubsequence(want, tokens) {
			best, bestLen = i, len(want)
		}
	}
	return best, best >= 0
}

func isSubsequence(want, have []string) bool {
	j := 0
	for _, h := range have {
		if j < len(want) && h == want[j] {
			j++
		}
	}
	return j == len(want)
}

// nameTokens lowercases a served name, drops its organization prefix ("openai/") and splits it into words
// and numbers: "Qwen/Qwen3.5-397B-A17B-FP8" -> qwen3 5 397b a17b fp8.
func nameTokens(served string) []string {
	s := strings.ToLower(strings.TrimSpace(served))
	if i := strings.LastIndex(s, "/"); i >= 0 {
		s = s[i+1:]
	}
	return alnumFields(s)
}

// alnumFields are the runs of ASCII letters and digits of s, lowercased: names are looked up at every verdict,
// so without a regexp.
func alnumFields(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return (r < 'a' || r > 'z') && (r < '0' || r > '9') })
}

// NameSize is a size read from a served model name.
type NameSize struct {
	ParamsB float64
	OK      bool
	// Reason says why a name that looks like it has a size gives none (ambiguous, or an active size only).
	Reason string
}

var (
	// A size word: "120b", "1.5B", "135M", "1T", or "8x7B" (experts x size). The word must start with the
	// number: "A17B" and "a32b" (active parameters of a mixture of experts) never match.
	sizeWord = regexp.MustCompile(`^(?:(\d+)x)?(\d+(?:\.\d+)?)([mbt])$`)
	// An experts word such as "16E" ("Llama-4-Scout-17B-16E"): the name's size is then the active size.
	expertsWord = regexp.MustCompile(`^\d+e$`)
	// Words of a served name, split on the separators that never occur inside a size ("." does: "1.5B").
	nameWordSeparators = regexp.MustCompile(`[-_/: ]+`)
)

var sizeUnitB = map[string]float64{"m": 1e-3, "b": 1, "t": 1e3}

// ParseNameSize reads the total parameter count from a served name: "gpt-oss-120b" 120B, "gemma-4-31B" 31B,
// "Mixtral-8x7B" 56B (experts x size: an upper bound, experts share their attention layers), "Qwen2.5-1.5B"
// 1.5B. Active-parameter words ("A17B", "a32b") are never taken for the total; a name whose only size is an
// active size ("Llama-4-Scout-17B-16E") or that has several different sizes gives none, with a reason.
func ParseNameSize(served string) NameSize {
	var out NameSize
	s := strings.ToLower(strings.TrimSpace(served))
	if i := strings.LastIndex(s, "/"); i >= 0 {
		s = s[i+1:]
	}
	var sizes []float64
	experts := ""
	for _, w := range nameWordSeparators.Split(s, -1) {
		if expertsWord.MatchString(w) {
			experts = w
			continue
		}
		m := sizeWord.FindStringSubmatch(w)
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue
		}
		v *= sizeUnitB[m[3]]
		if m[1] != "" {
			n, _ := strconv.Atoi(m[1])
			v *= float64(n)
		}
		// "0b" or "8x0b" is a version or a tag, not a size.
		if v <= 0 || math.IsInf(v, 0) {
			continue
		}
		if !slices.Contains(sizes, v) {
			sizes = append(sizes, v)
		}
	}
	switch {
	case len(sizes) == 0:
		return out
	case experts != "":
		out.Reason = fmt.Sprintf("its name gives %s with %s experts: the active size of a mixture of experts, not its total", formatB(sizes[0]), strings.TrimSuffix(experts, "e"))
		return out
	case len(sizes) > 1:
		parts := make([]string, len(sizes))
		for i, v := range sizes {
			parts[i] = formatB(v)
		}
		out.Reason = fmt.Sprintf("its name gives several sizes (%s)", strings.Join(parts, ", "))
		return out
	}
	out.ParamsB, out.OK = sizes[0], true
	return out
}

// dtypeFromName is the dtype a served name states: a bit-width word ("FP8", "Int4", "w4a16") wins over a
// method word ("AWQ", "GPTQ"); the first of each kind counts.
func dtypeFromName(served string) (Dtype, bool) {
	var method Dtype
	for _, t := range nameTokens(served) {
		if d, ok := dtypeWidthWords[t]; ok {
			return d, true
		}
		if d, ok := dtypeMethodWords[t]; ok && method == "" {
			method = d
		}
	}
	return method, method != ""
}

func formatB(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64) + "B"
}

func dtypeList() string {
	names := make([]string, 0, len(bytesPerParam))
	for d := range bytesPerParam {
		names = append(names, string(d))
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// UsableMemoryFraction is the share of a GPU's memory a model server can use (vLLM's default
// gpu_memory_utilization).
const UsableMemoryFraction = 0.9

// TensorParallelSizes are the GPU counts a model is sharded over.
var TensorParallelSizes = []int{1, 2, 4, 8}

// MemoryNeedGB is the memory a model needs to serve: its weights plus kvHeadroom (a fraction of the weights)
// for the KV cache.
func MemoryNeedGB(size ModelSize, kvHeadroom float64) float64 {
	if !size.Known {
		return math.NaN()
	}
	return size.WeightsGB * (1 + kvHeadroom)
}

// UsableGB is the memory of one GPU a model server can use.
func UsableGB(spec GPUSpec) float64 { return spec.MemoryGB * UsableMemoryFraction }

// MinTensorParallel is the smallest tensor-parallel size whose usable memory holds needGB; 0 when even the
// largest does not.
func MinTensorParallel(needGB, usablePerGPU float64) int {
	for _, n := range TensorParallelSizes {
		if float64(n)*usablePerGPU >= needGB {
			return n
		}
	}
	return 0
}
