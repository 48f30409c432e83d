package promclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unsafe"

	jsoniter "github.com/json-iterator/go"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// The two query endpoints are read as a stream: each series goes into the fleet's grid as it is decoded, so a
// read never holds a whole response body or a decoded matrix beside the series it keeps. (client_golang's
// Query and QueryRange buffer the body and then decode all of it.)

// PointSink takes the samples of one series: time in milliseconds and value.
type PointSink func(tMS int64, v float64)

// SeriesSink is told each series' labels and says where its samples go (nil: skip them). An error stops the read.
type SeriesSink func(metric model.Metric) (PointSink, error)

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// StreamQuery runs a range query (r.Step > 0) or an instant query at r.End, with the engine's own params, and
// feeds each series to sink.
func (c *Client) StreamQuery(ctx context.Context, q string, r v1.Range, params url.Values, sink SeriesSink) (v1.Warnings, v1.Infos, error) {
	form := url.Values{"query": {q}, "timeout": {strconv.FormatFloat(c.timeout.Seconds(), 'f', -1, 64) + "s"}}
	for k, v := range params {
		form[k] = v
	}
	path, want := "/api/v1/query", model.ValVector
	if r.Step > 0 {
		path, want = "/api/v1/query_range", model.ValMatrix
		form.Set("start", formatTime(r.Start))
		form.Set("end", formatTime(r.End))
		form.Set("step", strconv.FormatFloat(r.Step.Seconds(), 'f', -1, 64))
	} else {
		form.Set("time", formatTime(r.End))
	}
	resp, err := c.post(ctx, path, form)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, nil, statusError(resp.StatusCode, body)
	}
	return DecodeStream(resp.Body, want, sink)
}

// post sends the form as Prometheus' API accepts it, falling back to GET where a proxy refuses POST.
func (c *Client) post(ctx context.Context, path string, form url.Values) (*http.Response, error) {
	u := c.base.JoinPath(path)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// An empty idempotency key marks the read as safe for the transport to retry on a dead connection.
	req.Header["Idempotency-Key"] = nil
	resp, err := c.http.Do(req)
	if err != nil || (resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusNotImplemented && resp.StatusCode != http.StatusForbidden) {
		return resp, err
	}
	resp.Body.Close()
	u.RawQuery = form.Encode()
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	return c.http.Do(req)
}

// statusError is the error of a non-2xx answer, as client_golang would have typed it: the API's own error for
// 400 and 422, a server or client error with the body as detail otherwise.
func statusError(status int, body []byte) error {
	if status == http.StatusBadRequest || status == http.StatusUnprocessableEntity {
		var e struct {
			ErrorType v1.ErrorType `json:"errorType"`
			Error     string       `json:"error"`
		}
		if jsoniter.Unmarshal(body, &e) == nil && e.ErrorType != "" {
			return &v1.Error{Type: e.ErrorType, Msg: e.Error}
		}
	}
	typ := v1.ErrBadResponse
	switch status / 100 {
	case 4:
		typ = v1.ErrClient
	case 5:
		typ = v1.ErrServer
	}
	return &v1.Error{Type: typ, Msg: fmt.Sprintf("status %d", status), Detail: string(body)}
}

// DecodeStream reads a query answer, feeding the series of data.result to sink as they arrive.
func DecodeStream(r io.Reader, want model.ValueType, sink SeriesSink) (v1.Warnings, v1.Infos, error) {
	body := &endReader{r: r}
	it := jsoniter.Parse(jsoniter.ConfigDefault, body, 64<<10)
	var (
		status, errType, errMsg string
		warnings                v1.Warnings
		infos                   v1.Infos
		sinkErr                 error
	)
	complete := it.ReadObjectCB(func(it *jsoniter.Iterator, field string) bool {
		switch field {
		case "status":
			status = it.ReadString()
		case "errorType":
			errType = it.ReadString()
		case "error":
			errMsg = it.ReadString()
		case "warnings":
			it.ReadArrayCB(func(it *jsoniter.Iterator) bool { warnings = append(warnings, it.ReadString()); return true })
		case "infos":
			it.ReadArrayCB(func(it *jsoniter.Iterator) bool { infos = append(infos, it.ReadString()); return true })
		case "isPartial":
			// VictoriaMetrics cluster: some storage nodes did not answer.
			if it.ReadBool() {
				warnings = append(warnings, "the answer is partial (isPartial): some storage nodes did not answer")
			}
		case "data":
			sinkErr = decodeData(it, want, sink)
		default:
			it.Skip()
		}
		return sinkErr == nil
	})
	switch {
	case sinkErr != nil:
		return warnings, infos, sinkErr
	case !complete || it.Error != nil:
		// Never a partial answer: the connection cut it short, or it is not the JSON of a whole answer.
		if body.ended != nil && !errors.Is(body.ended, io.EOF) {
			return warnings, infos, fmt.Errorf("decoding the answer: %w", io.ErrUnexpectedEOF)
		}
		return warnings, infos, &v1.Error{Type: v1.ErrBadResponse, Msg: it.Error.Error()}
	case status == "error":
		return warnings, infos, &v1.Error{Type: v1.ErrorType(errType), Msg: errMsg}
	case status != "success":
		return warnings, infos, &v1.Error{Type: v1.ErrBadResponse, Msg: fmt.Sprintf("the answer has status %q", status)}
	}
	return warnings, infos, nil
}

// endReader notes how the body ended: io.EOF, or the error that cut it (unexpected EOF, a reset).
type endReader struct {
	r     io.Reader
	ended error
}

func (e *endReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		e.ended = err
	}
	return n, err
}

// errUnexpectedResult is an answer of another shape than the query asks for.
type errUnexpectedResult struct{ want, got string }

func (e errUnexpectedResult) Error() string {
	return fmt.Sprintf("expected %s, got a %s", map[string]string{"matrix": "a range result (matrix)", "vector": "an instant result (vector)"}[e.want], e.got)
}

func decodeData(it *jsoniter.Iterator, want model.ValueType, sink SeriesSink) error {
	var (
		resultType string
		err        error
	)
	it.ReadObjectCB(func(it *jsoniter.Iterator, field string) bool {
		switch field {
		case "resultType":
			resultType = it.ReadString()
			if resultType != want.String() {
				err = errUnexpectedResult{want.String(), resultType}
			}
		case "result":
			if resultType == "" {
				err = &v1.Error{Type: v1.ErrBadResponse, Msg: "the result comes before its resultType"}
				return false
			}
			it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
				err = decodeSeries1(it, sink)
				return err == nil
			})
		default:
			it.Skip()
		}
		return err == nil
	})
	return err
}

// decodeSeries1 reads one {"metric": {...}, "values": [[t, "v"], ...]} or {"metric": {...}, "value": [t, "v"]}.
// Prometheus writes the metric first; samples that come before it are held until it is known.
func decodeSeries1(it *jsoniter.Iterator, sink SeriesSink) error {
	var (
		metric  model.Metric
		points  PointSink
		pending [][2]float64
		err     error
	)
	add := func(t, v float64) {
		tMS := int64(math.Round(t * 1000))
		switch {
		case metric == nil:
			pending = append(pending, [2]float64{t, v})
		case points != nil:
			points(tMS, v)
		}
	}
	it.ReadObjectCB(func(it *jsoniter.Iterator, field string) bool {
		switch field {
		case "metric":
			metric = model.Metric{}
			it.ReadMapCB(func(it *jsoniter.Iterator, name string) bool {
				metric[model.LabelName(name)] = model.LabelValue(it.ReadString())
				return true
			})
			if points, err = sink(metric); err != nil {
				return false
			}
			for _, p := range pending {
				add(p[0], p[1])
			}
			pending = nil
		case "values":
			it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
				t, v := readSample(it)
				add(t, v)
				return it.Error == nil
			})
		case "value":
			t, v := readSample(it)
			add(t, v)
		default:
			it.Skip()
		}
		return it.Error == nil
	})
	return err
}

// readSample reads [t, "v"]; a value that is not a number reads as NaN (a missing step).
func readSample(it *jsoniter.Iterator) (t, v float64) {
	i := 0
	it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
		switch i {
		case 0:
			t = it.ReadFloat64()
		case 1:
			// The value's bytes are only viewed, not copied: ParseFloat keeps nothing of its input.
			b := it.ReadStringAsSlice()
			var err error
			if len(b) == 0 {
				v = math.NaN()
			} else if v, err = strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64); err != nil {
				v = math.NaN()
			}
		default:
			it.Skip()
		}
		i++
		return true
	})
	return t, v
}

// formatTime writes t as Prometheus reads it: seconds with a fraction.
func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}
