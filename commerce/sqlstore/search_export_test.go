package sqlstore

// SearchSQL exposes the search queries to the external tests, by the
// PostgreSQL index each must use.
var SearchSQL = map[string]func(Dialect) string{
	"products_fts": productSearchSQL, "shops_fts": shopSearchSQL, "streams_fts": streamSearchSQL}
