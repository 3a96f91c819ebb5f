package commerce

import "github.com/liveshop/liveshop/commerce/internal/api"

// Page asks for one page of a list that is ordered newest first (see
// api.Page).
type Page = api.Page
