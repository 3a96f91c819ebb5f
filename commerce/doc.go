// Package commerce is the shop side of Liveshop: accounts and sessions, shops,
// products, carts, checkout, payments, orders, support, reviews, flash sales
// and coupons. Its services are plain Go (callable from other packages through
// cmd/liveshop adapters) and are served over HTTP by Handler under /api/.
//
// Storage is behind the Store interface; commerce/sqlstore implements it on
// SQLite (the embedded default) and PostgreSQL.
package commerce
