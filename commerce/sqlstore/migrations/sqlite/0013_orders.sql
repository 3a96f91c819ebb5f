CREATE TABLE cart_lines (
	account_id       BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	product_id       BIGINT NOT NULL REFERENCES products (id),
	quantity         BIGINT NOT NULL CHECK (quantity > 0),
	unit_price_minor BIGINT NOT NULL,
	currency         TEXT NOT NULL,
	added_at         BIGINT NOT NULL,
	PRIMARY KEY (account_id, product_id)
);

CREATE TABLE orders (
	id               INTEGER PRIMARY KEY,
	buyer_id         BIGINT NOT NULL REFERENCES accounts (id),
	shop_id          BIGINT NOT NULL REFERENCES shops (id),
	stream_id        BIGINT REFERENCES streams (id),
	status           TEXT NOT NULL,
	currency         TEXT NOT NULL,
	total_minor      BIGINT NOT NULL CHECK (total_minor > 0),
	-- JSON object: name, line1, line2, city, region, postal_code, country, phone
	shipping_address TEXT NOT NULL,
	carrier          TEXT NOT NULL DEFAULT '',
	tracking_number  TEXT NOT NULL DEFAULT '',
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL
);
CREATE INDEX orders_buyer ON orders (buyer_id, id);
CREATE INDEX orders_shop ON orders (shop_id, id);
CREATE INDEX orders_shop_status ON orders (shop_id, status, id);
CREATE INDEX orders_stream ON orders (stream_id);

CREATE TABLE order_lines (
	order_id         BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
	product_id       BIGINT NOT NULL REFERENCES products (id),
	title            TEXT NOT NULL,
	unit_price_minor BIGINT NOT NULL,
	quantity         BIGINT NOT NULL CHECK (quantity > 0),
	PRIMARY KEY (order_id, product_id)
);
CREATE INDEX order_lines_product ON order_lines (product_id);

-- Payment state lives apart from fulfilment state: one payment per order.
CREATE TABLE payments (
	order_id     BIGINT PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
	provider     TEXT NOT NULL,
	status       TEXT NOT NULL,
	amount_minor BIGINT NOT NULL,
	currency     TEXT NOT NULL,
	card_brand   TEXT NOT NULL DEFAULT '',
	card_last4   TEXT NOT NULL DEFAULT '',
	reference    TEXT NOT NULL DEFAULT '',
	failure_code TEXT NOT NULL DEFAULT '',
	updated_at   BIGINT NOT NULL
);

-- The tracking timeline: every change of status or payment, when and by whom.
CREATE TABLE order_events (
	id             INTEGER PRIMARY KEY,
	order_id       BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
	event          TEXT NOT NULL,
	status         TEXT NOT NULL,
	payment_status TEXT NOT NULL,
	actor_id       BIGINT,
	actor_role     TEXT NOT NULL,
	note           TEXT NOT NULL DEFAULT '',
	created_at     BIGINT NOT NULL
);
CREATE INDEX order_events_order ON order_events (order_id, id);

CREATE TABLE idempotency_keys (
	account_id      BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	idem_key        TEXT NOT NULL,
	scope           TEXT NOT NULL,
	request_hash    BLOB NOT NULL,
	done            BOOLEAN NOT NULL DEFAULT FALSE,
	response_status INTEGER NOT NULL DEFAULT 0,
	response_body   BLOB,
	resource_id     BIGINT NOT NULL DEFAULT 0,
	locked_until    BIGINT NOT NULL,
	created_at      BIGINT NOT NULL,
	PRIMARY KEY (account_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
