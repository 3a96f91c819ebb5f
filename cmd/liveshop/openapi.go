package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
)

// openapiBase is the frame of /api/openapi.json: info, shared components and
// the operations endpoints. Each package contributes its own paths.
//
//go:embed openapi.json
var openapiBase []byte

// mergeOpenAPI combines the base document with the packages' paths and
// schemas; a path or schema defined twice is an error.
func mergeOpenAPI(parts [][]byte) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(openapiBase, &doc); err != nil {
		return nil, fmt.Errorf("openapi base: %w", err)
	}
	paths := doc["paths"].(map[string]any)
	components := doc["components"].(map[string]any)
	schemas := components["schemas"].(map[string]any)
	for i, part := range parts {
		var p struct {
			Paths      map[string]any `json:"paths"`
			Components struct {
				Schemas map[string]any `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(part, &p); err != nil {
			return nil, fmt.Errorf("openapi part %d: %w", i, err)
		}
		for _, m := range []struct {
			what     string
			from, to map[string]any
		}{{"path", p.Paths, paths}, {"schema", p.Components.Schemas, schemas}} {
			for k := range m.from {
				if _, dup := m.to[k]; dup {
					return nil, fmt.Errorf("openapi: %s %s defined twice", m.what, k)
				}
			}
			maps.Copy(m.to, m.from)
		}
	}
	return json.Marshal(doc)
}
