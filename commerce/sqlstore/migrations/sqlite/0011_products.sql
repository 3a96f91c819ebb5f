CREATE TABLE products (
	id           INTEGER PRIMARY KEY,
	shop_id      BIGINT NOT NULL REFERENCES shops (id),
	title        TEXT NOT NULL,
	description  TEXT NOT NULL DEFAULT '',
	price_minor  BIGINT NOT NULL CHECK (price_minor > 0),
	currency     TEXT NOT NULL,
	-- The last line of defence against overselling: no statement can take
	-- the stock below zero, whatever the code above it does.
	stock        BIGINT NOT NULL CHECK (stock >= 0),
	status       TEXT NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
	-- hashtags, space separated, for display; product_hashtags is for lookups.
	hashtags     TEXT NOT NULL DEFAULT '',
	-- lower-cased title, description and hashtags for the simple text filter.
	search_text  TEXT NOT NULL DEFAULT '',
	rating_count BIGINT NOT NULL DEFAULT 0,
	rating_sum   BIGINT NOT NULL DEFAULT 0,
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL
);
CREATE INDEX products_shop ON products (shop_id, status, id);
CREATE INDEX products_status ON products (status, id);

CREATE TABLE product_hashtags (
	tag        TEXT NOT NULL,
	product_id BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
	PRIMARY KEY (tag, product_id)
);
CREATE INDEX product_hashtags_product ON product_hashtags (product_id);

CREATE TABLE product_images (
	product_id BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
	image_name TEXT NOT NULL REFERENCES images (name),
	position   INTEGER NOT NULL,
	PRIMARY KEY (product_id, image_name)
);
