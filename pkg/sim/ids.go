package sim

import (
	"fmt"
	"strings"
)

// uuidFrom renders a GPU UUID the way nvidia-smi does, from a hash.
func uuidFrom(h uint64) string {
	l := u01(h, 0, 0, 1)
	x := uint64(l * (1 << 53))
	return fmt.Sprintf("GPU-%08x-%04x-%04x-%04x-%012x", uint32(h>>32), uint16(h>>16), uint16(h), uint16(x>>36), x&0xFFFFFFFFFFFF)
}

// busIDs are the PCI buses of the GPUs of an 8-GPU server (DGX A100 layout).
var busIDs = []int{0x07, 0x0F, 0x47, 0x4E, 0x87, 0x90, 0xB7, 0xBD}

func pciBusID(index int) string {
	return fmt.Sprintf("00000000:%02X:00.0", busIDs[index%len(busIDs)]+index/len(busIDs))
}

const podAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// podName is a Deployment pod name: container-<replicaset hash>-<5 characters>, distinct per restart n.
func podName(container string, key uint64, n int) string {
	var b strings.Builder
	b.WriteString(container)
	b.WriteByte('-')
	for i := range 10 {
		b.WriteByte(podAlphabet[int(u01(key, 1, int64(n), int64(i))*float64(len(podAlphabet)))])
	}
	b.WriteByte('-')
	for i := range 5 {
		b.WriteByte(podAlphabet[int(u01(key, 2, int64(n), int64(i))*float64(len(podAlphabet)))])
	}
	return b.String()
}

// slug turns a served model name into a container name (lowercase, dashes).
func slug(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
