-- Flash sales: units of a product offered at a sale price during a live
-- stream. The units are taken from the product's stock when the sale is
-- created; what is not sold goes back when the sale is reconciled.
CREATE TABLE flash_sales (
	id               INTEGER PRIMARY KEY,
	shop_id          BIGINT NOT NULL REFERENCES shops (id),
	stream_id        BIGINT NOT NULL REFERENCES streams (id),
	product_id       BIGINT NOT NULL REFERENCES products (id),
	price_minor      BIGINT NOT NULL CHECK (price_minor > 0),
	currency         TEXT NOT NULL,
	quantity         BIGINT NOT NULL CHECK (quantity > 0),
	per_buyer_limit  BIGINT NOT NULL CHECK (per_buyer_limit > 0),
	starts_at        BIGINT NOT NULL,
	ends_at          BIGINT NOT NULL,
	-- active until it ends (by time, sold out, stopped, stream ended)
	status           TEXT NOT NULL CHECK (status IN ('active', 'ended')),
	end_reason       TEXT NOT NULL DEFAULT '',
	ended_at         BIGINT,
	-- set once, by the node that reconciled the sale with the stock engine
	reconciled_at    BIGINT,
	sold             BIGINT NOT NULL DEFAULT 0,
	created_by       BIGINT NOT NULL REFERENCES accounts (id),
	created_at       BIGINT NOT NULL,
	CHECK (ends_at > starts_at)
);
-- One sale at a time per stream.
CREATE UNIQUE INDEX flash_sales_one_active ON flash_sales (stream_id) WHERE status = 'active';
CREATE INDEX flash_sales_stream ON flash_sales (stream_id, id);
CREATE INDEX flash_sales_unreconciled ON flash_sales (id) WHERE reconciled_at IS NULL;

-- The order a reservation became. The primary key is the reservation: a
-- retried or concurrent checkout of one reservation can never create a
-- second order, and the row is written in the transaction that creates the
-- order, so an order is never lost between the two.
CREATE TABLE flash_sale_orders (
	sale_id        BIGINT NOT NULL REFERENCES flash_sales (id),
	reservation_id BIGINT NOT NULL,
	order_id       BIGINT NOT NULL UNIQUE REFERENCES orders (id),
	buyer_id       BIGINT NOT NULL REFERENCES accounts (id),
	quantity       BIGINT NOT NULL CHECK (quantity > 0),
	created_at     BIGINT NOT NULL,
	PRIMARY KEY (sale_id, reservation_id)
);
CREATE INDEX flash_sale_orders_buyer ON flash_sale_orders (sale_id, buyer_id);

-- Stock for the load generator's baseline: the same race run through a
-- plain SQL row lock (UPDATE ... WHERE stock >= n). Used only when the
-- server is started with the baseline enabled.
CREATE TABLE flash_sale_baseline (
	sale_id BIGINT PRIMARY KEY REFERENCES flash_sales (id),
	stock   BIGINT NOT NULL CHECK (stock >= 0)
);
