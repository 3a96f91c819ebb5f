-- Search stems English words: the FTS5 indexes of 0053 rebuilt with the
-- porter tokenizer over unicode61 (still folding case and diacritics), so
-- "shirts" finds "Shirt" and "running" finds "run". FTS5 stems query terms,
-- prefix ones included, with the same tokenizer. The triggers are as in
-- 0053; 'rebuild' re-indexes the existing rows.
DROP TRIGGER product_search_insert;
DROP TRIGGER product_search_delete;
DROP TRIGGER product_search_update;
DROP TABLE product_search;
DROP TRIGGER shop_search_insert;
DROP TRIGGER shop_search_delete;
DROP TRIGGER shop_search_update;
DROP TABLE shop_search;
DROP TRIGGER stream_search_insert;
DROP TRIGGER stream_search_delete;
DROP TRIGGER stream_search_update;
DROP TABLE stream_search;

CREATE VIRTUAL TABLE product_search USING fts5(
	title, hashtags, description,
	content = 'products', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2');
CREATE TRIGGER product_search_insert AFTER INSERT ON products BEGIN
	INSERT INTO product_search (rowid, title, hashtags, description) VALUES (NEW.id, NEW.title, NEW.hashtags, NEW.description);
END;
CREATE TRIGGER product_search_delete AFTER DELETE ON products BEGIN
	INSERT INTO product_search (product_search, rowid, title, hashtags, description)
	VALUES ('delete', OLD.id, OLD.title, OLD.hashtags, OLD.description);
END;
CREATE TRIGGER product_search_update AFTER UPDATE OF title, hashtags, description ON products BEGIN
	INSERT INTO product_search (product_search, rowid, title, hashtags, description)
	VALUES ('delete', OLD.id, OLD.title, OLD.hashtags, OLD.description);
	INSERT INTO product_search (rowid, title, hashtags, description) VALUES (NEW.id, NEW.title, NEW.hashtags, NEW.description);
END;
INSERT INTO product_search (product_search) VALUES ('rebuild');

CREATE VIRTUAL TABLE shop_search USING fts5(
	name, handle, description,
	content = 'shops', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2');
CREATE TRIGGER shop_search_insert AFTER INSERT ON shops BEGIN
	INSERT INTO shop_search (rowid, name, handle, description) VALUES (NEW.id, NEW.name, NEW.handle, NEW.description);
END;
CREATE TRIGGER shop_search_delete AFTER DELETE ON shops BEGIN
	INSERT INTO shop_search (shop_search, rowid, name, handle, description)
	VALUES ('delete', OLD.id, OLD.name, OLD.handle, OLD.description);
END;
CREATE TRIGGER shop_search_update AFTER UPDATE OF name, handle, description ON shops BEGIN
	INSERT INTO shop_search (shop_search, rowid, name, handle, description)
	VALUES ('delete', OLD.id, OLD.name, OLD.handle, OLD.description);
	INSERT INTO shop_search (rowid, name, handle, description) VALUES (NEW.id, NEW.name, NEW.handle, NEW.description);
END;
INSERT INTO shop_search (shop_search) VALUES ('rebuild');

CREATE VIRTUAL TABLE stream_search USING fts5(
	title, hashtags, description,
	content = 'streams', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2');
CREATE TRIGGER stream_search_insert AFTER INSERT ON streams BEGIN
	INSERT INTO stream_search (rowid, title, hashtags, description) VALUES (NEW.id, NEW.title, NEW.hashtags, NEW.description);
END;
CREATE TRIGGER stream_search_delete AFTER DELETE ON streams BEGIN
	INSERT INTO stream_search (stream_search, rowid, title, hashtags, description)
	VALUES ('delete', OLD.id, OLD.title, OLD.hashtags, OLD.description);
END;
CREATE TRIGGER stream_search_update AFTER UPDATE OF title, hashtags, description ON streams BEGIN
	INSERT INTO stream_search (stream_search, rowid, title, hashtags, description)
	VALUES ('delete', OLD.id, OLD.title, OLD.hashtags, OLD.description);
	INSERT INTO stream_search (rowid, title, hashtags, description) VALUES (NEW.id, NEW.title, NEW.hashtags, NEW.description);
END;
INSERT INTO stream_search (stream_search) VALUES ('rebuild');
