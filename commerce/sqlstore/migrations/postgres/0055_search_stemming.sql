-- Search stems English words: the indexes of 0053 rebuilt with the
-- 'english' configuration (Snowball stemmer, English stop words left out),
-- so "shirts" finds "Shirt" and "running" finds "run". Queries parse their
-- terms with the same configuration (sqlstore/search.go), which stems a
-- prefix term too: to_tsquery('english', 'running:*') is 'run':*. Weights
-- as before: title A, hashtags B, description C.
DROP INDEX products_fts;
DROP INDEX shops_fts;
DROP INDEX streams_fts;
CREATE INDEX products_fts ON products USING GIN ((
	setweight(to_tsvector('english', title), 'A') ||
	setweight(to_tsvector('english', hashtags), 'B') ||
	setweight(to_tsvector('english', description), 'C')));
CREATE INDEX shops_fts ON shops USING GIN ((
	setweight(to_tsvector('english', name), 'A') ||
	setweight(to_tsvector('english', handle), 'A') ||
	setweight(to_tsvector('english', description), 'C')));
CREATE INDEX streams_fts ON streams USING GIN ((
	setweight(to_tsvector('english', title), 'A') ||
	setweight(to_tsvector('english', hashtags), 'B') ||
	setweight(to_tsvector('english', description), 'C')));
