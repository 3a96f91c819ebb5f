-- Interaction events: the one log of what viewers do (watch a stream, view
-- or click a product, add to cart, buy, like, comment, follow, share).
-- commerce's recorder writes it in batches; analytics read it, and the
-- discovery scores (0052) are maintained as each batch is written.
-- Append-only, no foreign keys: the hot path must stay cheap and the log
-- outlives what it mentions.
CREATE TABLE interactions (
	id           INTEGER PRIMARY KEY,
	-- when it happened; for a watch session, when it ended
	at           BIGINT NOT NULL,
	kind         TEXT NOT NULL,
	-- 0 for an anonymous viewer
	account_id   BIGINT NOT NULL DEFAULT 0,
	shop_id      BIGINT NOT NULL DEFAULT 0,
	-- the stream the event happened in or is credited to, 0 for none
	stream_id    BIGINT NOT NULL DEFAULT 0,
	product_id   BIGINT NOT NULL DEFAULT 0,
	order_id     BIGINT NOT NULL DEFAULT 0,
	-- units (cart, purchase) or taps (like)
	quantity     BIGINT NOT NULL DEFAULT 0,
	-- revenue of a purchase line, in the shop's currency
	amount_minor BIGINT NOT NULL DEFAULT 0,
	-- when a watch session began
	started_at   BIGINT NOT NULL DEFAULT 0,
	-- where the viewer came from: feed, search, hashtag, share, live_card...
	source       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX interactions_stream ON interactions (stream_id, kind) WHERE stream_id <> 0;
CREATE INDEX interactions_shop ON interactions (shop_id, at);
CREATE INDEX interactions_account ON interactions (account_id, at) WHERE account_id <> 0;
