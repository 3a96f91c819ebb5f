-- The stream an order is credited to when the order itself does not name
-- one (orders.stream_id is set only for a checkout from the watch page):
-- the stream the buyer last joined or clicked in within the attribution
-- window. The interaction recorder writes it with the order's purchase
-- lines. Seller analytics count orders and revenue from the orders tables
-- and use this only to credit a stream. No foreign key, like the
-- interaction log it comes from.
CREATE TABLE order_streams (
	order_id  BIGINT PRIMARY KEY,
	stream_id BIGINT NOT NULL
);
CREATE INDEX order_streams_stream ON order_streams (stream_id);

-- A shop's orders over a date range, for its reports.
CREATE INDEX orders_shop_created ON orders (shop_id, created_at);

-- Daily rollups of the interaction log. The retention purge rolls up each
-- UTC day before it deletes the day's rows, so reports over long ranges
-- survive it: one row per day, shop, stream, product and kind.
CREATE TABLE interaction_days (
	-- days since 1970-01-01 UTC
	day          BIGINT NOT NULL,
	shop_id      BIGINT NOT NULL,
	stream_id    BIGINT NOT NULL,
	product_id   BIGINT NOT NULL,
	kind         TEXT NOT NULL,
	events       BIGINT NOT NULL,
	-- distinct signed-in accounts plus anonymous rows, that day, in this row
	viewers      BIGINT NOT NULL,
	orders       BIGINT NOT NULL,
	quantity     BIGINT NOT NULL,
	amount_minor BIGINT NOT NULL,
	-- watch rows: the sessions' time (each counted on the day it ended) and
	-- the most sessions open at once among them
	watch_micros BIGINT NOT NULL,
	peak         BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (shop_id, day, kind, stream_id, product_id)
);
CREATE INDEX interaction_days_stream ON interaction_days (stream_id, kind) WHERE stream_id <> 0;

-- Interactions before rolled_until (a UTC midnight, in microseconds) are
-- read from interaction_days, later ones from interactions: a report never
-- counts a day twice, even while the purge is deleting the day's rows.
CREATE TABLE interaction_rollup (
	id           INTEGER PRIMARY KEY CHECK (id = 1),
	rolled_until BIGINT NOT NULL
);
INSERT INTO interaction_rollup (id, rolled_until) VALUES (1, 0);

-- The purge deletes the log oldest first.
CREATE INDEX interactions_at ON interactions (at);

-- Watch sessions still open, written by their node every heartbeat and
-- deleted with the session's watch interaction; reports read each as a
-- session from started_at to seen_at.
CREATE TABLE watch_open (
	session    TEXT PRIMARY KEY,
	stream_id  BIGINT NOT NULL,
	account_id BIGINT NOT NULL,
	started_at BIGINT NOT NULL,
	seen_at    BIGINT NOT NULL
);
CREATE INDEX watch_open_stream ON watch_open (stream_id);
CREATE INDEX watch_open_seen ON watch_open (seen_at);
