// Package procout keeps the output of a process the tests start (Prometheus, VictoriaMetrics, the plugin), so a
// failure can show it.
package procout

import (
	"bytes"
	"sync"
)

// Buffer is a process' output, written by its copy goroutines while tests read it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes is a copy of what was written so far.
func (b *Buffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func (b *Buffer) String() string { return string(b.Bytes()) }
