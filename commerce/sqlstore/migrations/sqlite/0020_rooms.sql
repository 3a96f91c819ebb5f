-- Live rooms: comments and moderation (room package). Rows refer to
-- streams, shops and accounts by ID without foreign keys, so a room's
-- history outlives edits elsewhere and the tables stay the room's own.
CREATE TABLE room_comments (
	id          INTEGER PRIMARY KEY,
	stream_id   BIGINT NOT NULL,
	shop_id     BIGINT NOT NULL,
	author_id   BIGINT NOT NULL,
	author_name TEXT NOT NULL,
	-- chosen by the client for idempotent resends; NULL when none was given
	client_id   TEXT,
	body        TEXT NOT NULL,
	status      TEXT NOT NULL CHECK (status IN ('visible', 'held', 'removed')),
	created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX room_comments_client ON room_comments (stream_id, author_id, client_id);
CREATE INDEX room_comments_stream ON room_comments (stream_id, status, id);

CREATE TABLE room_restrictions (
	shop_id     BIGINT NOT NULL,
	account_id  BIGINT NOT NULL,
	-- unix microseconds; 0 when not muted
	muted_until BIGINT NOT NULL DEFAULT 0,
	banned      BOOLEAN NOT NULL DEFAULT FALSE,
	updated_at  BIGINT NOT NULL,
	PRIMARY KEY (shop_id, account_id)
);

CREATE TABLE room_settings (
	stream_id         BIGINT PRIMARY KEY,
	slow_mode_seconds INTEGER NOT NULL DEFAULT 0,
	pinned_product_id BIGINT NOT NULL DEFAULT 0,
	likes             BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE room_blocked_words (
	shop_id    BIGINT NOT NULL,
	word       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (shop_id, word)
);

CREATE TABLE moderation_log (
	id         INTEGER PRIMARY KEY,
	shop_id    BIGINT NOT NULL,
	stream_id  BIGINT NOT NULL DEFAULT 0,
	actor_id   BIGINT NOT NULL,
	actor_name TEXT NOT NULL,
	action     TEXT NOT NULL,
	target_id  BIGINT NOT NULL DEFAULT 0,
	comment_id BIGINT NOT NULL DEFAULT 0,
	detail     TEXT NOT NULL DEFAULT '',
	at         BIGINT NOT NULL
);
CREATE INDEX moderation_log_shop ON moderation_log (shop_id, id);
