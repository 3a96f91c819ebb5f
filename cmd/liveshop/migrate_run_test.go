package main

import (
	"context"
	"database/sql"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestStartFailsWholeOnABadMigration starts on an empty SQLite database where
// a late migration (0053_search.sql creates product_search) cannot apply:
// run names the file and the earlier migrations of the batch are not left
// behind.
func TestStartFailsWholeOnABadMigration(t *testing.T) {
	cfg := testConfig(t)
	cfg.DB = filepath.Join(t.TempDir(), "liveshop.db")
	db, err := sql.Open("sqlite", cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE product_search (x TEXT)"); err != nil {
		t.Fatal(err)
	}

	err = run(context.Background(), cfg, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "database") || !strings.Contains(err.Error(), "migration 0053_search.sql failed") {
		t.Fatalf("got %v, want a database error naming 0053_search.sql", err)
	}
	rows, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if !slices.Equal(tables, []string{"product_search"}) {
		t.Fatalf("tables after the failed start: %v, want only the one there before", tables)
	}
}
