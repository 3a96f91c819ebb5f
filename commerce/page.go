package commerce

import "github.com/liveshop/liveshop/commerce/internal/api"

// PageRequest asks for one page of a list that is ordered newest first (see
// api.PageRequest).
type PageRequest = api.PageRequest
