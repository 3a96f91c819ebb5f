// Package commerce is the core of Liveshop's shop side: shops and
// moderators, products, streams, carts, checkout, the one payment pipeline
// every checkout goes through (Pay), orders, coupons, support and reviews,
// on top of who people are (commerce/accounts, embedded in Service). Live selling formats (commerce/flash) and discovery
// are built on it and reach it through its exported methods; nothing in
// this package knows them. Its services are plain Go (callable from other
// packages through cmd/liveshop adapters) and are served over HTTP by
// Handler under /api/.
//
// Storage is behind the Store interface; commerce/sqlstore implements it on
// SQLite (the embedded default) and PostgreSQL.
package commerce
