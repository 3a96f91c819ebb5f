-- Full-text search over products, shops and streams: FTS5 indexes over the
-- tables' own columns (external content), kept in step by triggers. The
-- unicode61 tokenizer splits on anything that is not a letter or digit and
-- folds case and diacritics; commerce turns a query into quoted prefix
-- terms, so no query text is ever read as FTS5 syntax.
CREATE VIRTUAL TABLE product_search USING fts5(
	title, hashtags, description,
	content = 'products', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
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
	content = 'shops', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
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
	content = 'streams', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
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
