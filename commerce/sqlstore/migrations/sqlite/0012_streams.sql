CREATE TABLE streams (
	id           INTEGER PRIMARY KEY,
	shop_id      BIGINT NOT NULL REFERENCES shops (id),
	title        TEXT NOT NULL,
	description  TEXT NOT NULL DEFAULT '',
	status       TEXT NOT NULL CHECK (status IN ('scheduled', 'live', 'ended')),
	scheduled_at BIGINT NOT NULL,
	started_at   BIGINT,
	ended_at     BIGINT,
	-- SHA-256 of the stream key; the key itself is shown once and never stored.
	key_hash     BLOB NOT NULL,
	hashtags     TEXT NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL
);
CREATE INDEX streams_shop ON streams (shop_id, id);
CREATE INDEX streams_status ON streams (status, id);

CREATE TABLE stream_products (
	stream_id  BIGINT NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
	product_id BIGINT NOT NULL REFERENCES products (id),
	position   INTEGER NOT NULL,
	PRIMARY KEY (stream_id, product_id)
);

CREATE TABLE stream_hashtags (
	tag       TEXT NOT NULL,
	stream_id BIGINT NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
	PRIMARY KEY (tag, stream_id)
);
CREATE INDEX stream_hashtags_stream ON stream_hashtags (stream_id);
