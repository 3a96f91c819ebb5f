CREATE TABLE order_messages (
	id          INTEGER PRIMARY KEY,
	order_id    BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
	author_id   BIGINT NOT NULL REFERENCES accounts (id),
	author_role TEXT NOT NULL,
	body        TEXT NOT NULL,
	created_at  BIGINT NOT NULL
);
CREATE INDEX order_messages_order ON order_messages (order_id, id);

CREATE TABLE reviews (
	id         INTEGER PRIMARY KEY,
	product_id BIGINT NOT NULL REFERENCES products (id),
	order_id   BIGINT NOT NULL REFERENCES orders (id),
	author_id  BIGINT NOT NULL REFERENCES accounts (id),
	rating     INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
	body       TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	UNIQUE (product_id, author_id)
);
CREATE INDEX reviews_product ON reviews (product_id, id);
