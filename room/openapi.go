package room

import _ "embed"

// OpenAPI describes the routes Handler registers (paths and schemas); cmd
// merges it into /api/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte
