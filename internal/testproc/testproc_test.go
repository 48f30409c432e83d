package testproc

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBufferKeepsConcurrentWritesWhole(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 100 {
				fmt.Fprintf(&b, "%d\n", i)
			}
		})
	}
	wg.Go(func() { _ = b.String() })
	wg.Wait()
	assert.Len(t, b.Bytes(), 8*100*2)
	copied := b.Bytes()
	copied[0] = 'x'
	assert.NotEqual(t, byte('x'), b.Bytes()[0], "Bytes is a copy")
}

type fakeServer struct{ stopped int }

func (s *fakeServer) Stop() error { s.stopped++; return nil }

func TestFixtureStartsOnceAndCloseStopsAndRemoves(t *testing.T) {
	starts := 0
	var dir string
	f := NewFixture("testproc-", func() error { return nil }, func(d string) (*fakeServer, error) {
		starts++
		dir = d
		return &fakeServer{}, nil
	})
	a, b := f.Server(t), f.Server(t)
	assert.Same(t, a, b)
	assert.Equal(t, 1, starts)
	assert.DirExists(t, dir)
	f.Close()
	assert.Equal(t, 1, a.stopped)
	assert.NoDirExists(t, dir)
}

func TestFixtureNeverStartedClosesQuietly(t *testing.T) {
	f := NewFixture("testproc-", func() error { return nil }, func(string) (*fakeServer, error) {
		return nil, errors.New("no port")
	})
	f.Close()
}

func TestStartStopsTheServerWhenTheTestEnds(t *testing.T) {
	var srv *fakeServer
	t.Run("a test", func(t *testing.T) {
		srv = Start(t, func() error { return nil }, func(dir string) (*fakeServer, error) {
			assert.DirExists(t, dir)
			return &fakeServer{}, nil
		})
		assert.Zero(t, srv.stopped)
	})
	assert.Equal(t, 1, srv.stopped)
}
