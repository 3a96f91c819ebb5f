package discovery

import "github.com/liveshop/liveshop/commerce/internal/bus"

// MemoryAlerts is the single-node AlertBus: Publish calls every
// subscriber in the caller's goroutine.
type MemoryAlerts struct{ bus.Memory[Alert] }

var _ AlertBus = (*MemoryAlerts)(nil)

// NewMemoryAlerts returns an empty in-process bus.
func NewMemoryAlerts() *MemoryAlerts { return &MemoryAlerts{bus.NewMemory[Alert]()} }
