package procout

import (
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
