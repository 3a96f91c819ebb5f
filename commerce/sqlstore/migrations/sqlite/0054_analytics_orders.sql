-- The stream an order is credited to when the order itself does not name
-- one (orders.stream_id is set only for a checkout from the watch page):
-- the stream the buyer last joined or clicked in within the attribution
-- window. The interaction recorder writes it with the order's purchase
-- lines. Seller analytics count orders and revenue from the orders tables
-- and use this only to credit a stream. No foreign key, like the
-- interaction log it comes from.
CREATE TABLE order_streams (
	order_id  BIGINT PRIMARY KEY,
	stream_id BIGINT NOT NULL
);
CREATE INDEX order_streams_stream ON order_streams (stream_id);

-- A shop's orders over a date range, for its reports.
CREATE INDEX orders_shop_created ON orders (shop_id, created_at);
