package commerce

// MemoryAlerts is the single-node AlertBus: Publish calls every
// subscriber in the caller's goroutine.
type MemoryAlerts struct{ memoryBus[Alert] }

var _ AlertBus = (*MemoryAlerts)(nil)

// NewMemoryAlerts returns an empty in-process bus.
func NewMemoryAlerts() *MemoryAlerts { return &MemoryAlerts{newMemoryBus[Alert]()} }
