package room_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/liveshop/liveshop/room"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(room.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	e := echo.New()
	hub, err := room.NewHub(room.Config{}, room.Deps{Auth: headerAuth{}, Directory: newDirectory(), Store: room.NewMemoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	room.NewHandler(hub).Register(e.Group("/api"))
	served := map[string]bool{}
	for _, r := range e.Routes() {
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		served[r.Method+" "+strings.Join(parts, "/")] = true
	}
	for r := range served {
		if !documented[r] {
			t.Errorf("%s is served but not documented", r)
		}
	}
	for r := range documented {
		if !served[r] {
			t.Errorf("%s is documented but not served", r)
		}
	}
}
