CREATE TABLE shops (
	id          INTEGER PRIMARY KEY,
	owner_id    BIGINT NOT NULL UNIQUE REFERENCES accounts (id),
	handle      TEXT NOT NULL UNIQUE,
	name        TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	currency    TEXT NOT NULL,
	logo_image  TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL
);

CREATE TABLE shop_moderators (
	shop_id      BIGINT NOT NULL REFERENCES shops (id) ON DELETE CASCADE,
	account_id   BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	appointed_by BIGINT NOT NULL,
	created_at   BIGINT NOT NULL,
	PRIMARY KEY (shop_id, account_id)
);
CREATE INDEX shop_moderators_account ON shop_moderators (account_id);

CREATE TABLE images (
	name         TEXT PRIMARY KEY,
	owner_id     BIGINT NOT NULL,
	content_type TEXT NOT NULL,
	size         BIGINT NOT NULL,
	width        INTEGER NOT NULL,
	height       INTEGER NOT NULL,
	created_at   BIGINT NOT NULL
);
