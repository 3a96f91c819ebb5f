-- Discovery scores, maintained incrementally from interaction batches so a
-- feed request reads a few short index ranges instead of the event log.
--
-- Every score is a "heat": the natural log of a sum of weights, each
-- weight grown by e^((t - 2026-01-01)/tau) for an event at time t. Ranking
-- by heat is ranking by exponentially decayed popularity (the common decay
-- factor cancels out), adding an event is a log-add, and heats never
-- overflow. -1e18 means "nothing yet". Item kinds: 1 product, 2 stream.
CREATE TABLE discovery_items (
	kind    SMALLINT NOT NULL,
	item_id BIGINT NOT NULL,
	shop_id BIGINT NOT NULL,
	heat    DOUBLE PRECISION NOT NULL,
	PRIMARY KEY (kind, item_id)
);
CREATE INDEX discovery_items_heat ON discovery_items (kind, heat DESC);
CREATE INDEX discovery_items_shop ON discovery_items (shop_id, kind, heat DESC);

-- The items of each hashtag with their heat, for "popular in #tag" in one
-- index range. Rows follow product_hashtags and stream_hashtags through
-- triggers; heats follow discovery_items as batches are written.
CREATE TABLE discovery_item_tags (
	tag     TEXT NOT NULL,
	kind    SMALLINT NOT NULL,
	item_id BIGINT NOT NULL,
	heat    DOUBLE PRECISION NOT NULL,
	PRIMARY KEY (tag, kind, item_id)
);
CREATE INDEX discovery_item_tags_heat ON discovery_item_tags (tag, kind, heat DESC, item_id DESC);
CREATE INDEX discovery_item_tags_item ON discovery_item_tags (kind, item_id);

-- Trending hashtags.
CREATE TABLE discovery_tags (
	tag  TEXT PRIMARY KEY,
	heat DOUBLE PRECISION NOT NULL
);
CREATE INDEX discovery_tags_heat ON discovery_tags (heat DESC);

-- Each signed-in viewer's taste: heat per hashtag of what they engaged with.
CREATE TABLE discovery_affinity (
	account_id BIGINT NOT NULL,
	tag        TEXT NOT NULL,
	heat       DOUBLE PRECISION NOT NULL,
	PRIMARY KEY (account_id, tag)
);
CREATE INDEX discovery_affinity_heat ON discovery_affinity (account_id, heat DESC);

-- The items each viewer engaged with strongly (watched, carted, bought),
-- newest first: the seeds of "viewers who ... also bought".
CREATE TABLE discovery_recent (
	account_id BIGINT NOT NULL,
	kind       SMALLINT NOT NULL,
	item_id    BIGINT NOT NULL,
	strength   DOUBLE PRECISION NOT NULL,
	at         BIGINT NOT NULL,
	bought_at  BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (account_id, kind, item_id)
);
CREATE INDEX discovery_recent_time ON discovery_recent (account_id, at DESC);

-- Item-to-item co-occurrence: heat of "viewers who engaged with a also
-- engaged with b", both directions stored.
CREATE TABLE discovery_pairs (
	a_kind SMALLINT NOT NULL,
	a_id   BIGINT NOT NULL,
	b_kind SMALLINT NOT NULL,
	b_id   BIGINT NOT NULL,
	heat   DOUBLE PRECISION NOT NULL,
	PRIMARY KEY (a_kind, a_id, b_kind, b_id)
);
CREATE INDEX discovery_pairs_heat ON discovery_pairs (a_kind, a_id, heat DESC);

INSERT INTO discovery_item_tags (tag, kind, item_id, heat)
	SELECT tag, 1, product_id, -1e18 FROM product_hashtags;
INSERT INTO discovery_item_tags (tag, kind, item_id, heat)
	SELECT tag, 2, stream_id, -1e18 FROM stream_hashtags;

CREATE FUNCTION discovery_product_tag_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO discovery_item_tags (tag, kind, item_id, heat)
	VALUES (NEW.tag, 1, NEW.product_id,
		COALESCE((SELECT heat FROM discovery_items WHERE kind = 1 AND item_id = NEW.product_id), -1e18))
	ON CONFLICT (tag, kind, item_id) DO NOTHING;
	RETURN NULL;
END $$;
CREATE FUNCTION discovery_product_tag_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM discovery_item_tags WHERE tag = OLD.tag AND kind = 1 AND item_id = OLD.product_id;
	RETURN NULL;
END $$;
CREATE TRIGGER discovery_product_tag_added AFTER INSERT ON product_hashtags
	FOR EACH ROW EXECUTE FUNCTION discovery_product_tag_added();
CREATE TRIGGER discovery_product_tag_removed AFTER DELETE ON product_hashtags
	FOR EACH ROW EXECUTE FUNCTION discovery_product_tag_removed();

CREATE FUNCTION discovery_stream_tag_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO discovery_item_tags (tag, kind, item_id, heat)
	VALUES (NEW.tag, 2, NEW.stream_id,
		COALESCE((SELECT heat FROM discovery_items WHERE kind = 2 AND item_id = NEW.stream_id), -1e18))
	ON CONFLICT (tag, kind, item_id) DO NOTHING;
	RETURN NULL;
END $$;
CREATE FUNCTION discovery_stream_tag_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM discovery_item_tags WHERE tag = OLD.tag AND kind = 2 AND item_id = OLD.stream_id;
	RETURN NULL;
END $$;
CREATE TRIGGER discovery_stream_tag_added AFTER INSERT ON stream_hashtags
	FOR EACH ROW EXECUTE FUNCTION discovery_stream_tag_added();
CREATE TRIGGER discovery_stream_tag_removed AFTER DELETE ON stream_hashtags
	FOR EACH ROW EXECUTE FUNCTION discovery_stream_tag_removed();
