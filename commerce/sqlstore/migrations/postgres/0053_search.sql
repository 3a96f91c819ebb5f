-- Full-text search over products, shops and streams: GIN indexes on
-- weighted tsvector expressions (title A, hashtags B, description C) with
-- the 'simple' configuration (no stemming, any language). Queries must
-- repeat these expressions exactly (sqlstore/search.go) to use them.
-- commerce turns a query into prefix terms of letters and digits only, so
-- no query text is ever read as tsquery syntax.
CREATE INDEX products_fts ON products USING GIN ((
	setweight(to_tsvector('simple', title), 'A') ||
	setweight(to_tsvector('simple', hashtags), 'B') ||
	setweight(to_tsvector('simple', description), 'C')));
CREATE INDEX shops_fts ON shops USING GIN ((
	setweight(to_tsvector('simple', name), 'A') ||
	setweight(to_tsvector('simple', handle), 'A') ||
	setweight(to_tsvector('simple', description), 'C')));
CREATE INDEX streams_fts ON streams USING GIN ((
	setweight(to_tsvector('simple', title), 'A') ||
	setweight(to_tsvector('simple', hashtags), 'B') ||
	setweight(to_tsvector('simple', description), 'C')));
