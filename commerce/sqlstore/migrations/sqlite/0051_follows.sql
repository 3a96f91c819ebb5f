-- Viewers follow shops. The follower count is kept beside, in the same
-- transaction as each follow and unfollow, so a shop page reads one row
-- however many followers the shop has.
CREATE TABLE follows (
	account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	shop_id    BIGINT NOT NULL REFERENCES shops (id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (account_id, shop_id)
);
CREATE INDEX follows_shop ON follows (shop_id, account_id);
CREATE INDEX follows_account_time ON follows (account_id, created_at);

CREATE TABLE shop_follower_counts (
	shop_id   BIGINT PRIMARY KEY REFERENCES shops (id) ON DELETE CASCADE,
	followers BIGINT NOT NULL DEFAULT 0 CHECK (followers >= 0)
);
