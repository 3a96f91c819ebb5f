package live

import _ "embed"

// OpenAPI describes the WHIP and WHEP routes Handler registers; cmd merges
// it into /api/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte
