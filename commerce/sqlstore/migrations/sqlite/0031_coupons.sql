-- Live-exclusive coupons: a code of a shop valid only while one stream of
-- the shop is live, as a percentage or a fixed amount off, at most max_uses
-- times in all and once per buyer.
CREATE TABLE coupons (
	id          INTEGER PRIMARY KEY,
	shop_id     BIGINT NOT NULL REFERENCES shops (id),
	stream_id   BIGINT NOT NULL REFERENCES streams (id),
	code        TEXT NOT NULL,
	kind        TEXT NOT NULL CHECK (kind IN ('percent', 'fixed')),
	value       BIGINT NOT NULL CHECK (value > 0),
	currency    TEXT NOT NULL,
	max_uses    BIGINT NOT NULL CHECK (max_uses > 0),
	used        BIGINT NOT NULL DEFAULT 0 CHECK (used >= 0 AND used <= max_uses),
	created_by  BIGINT NOT NULL REFERENCES accounts (id),
	created_at  BIGINT NOT NULL,
	UNIQUE (stream_id, code)
);
CREATE INDEX coupons_shop_code ON coupons (shop_id, code);

-- One redemption per buyer and coupon; deleted again when the order's
-- payment fails, so the buyer may use the coupon on the next attempt.
CREATE TABLE coupon_redemptions (
	coupon_id      BIGINT NOT NULL REFERENCES coupons (id),
	buyer_id       BIGINT NOT NULL REFERENCES accounts (id),
	order_id       BIGINT NOT NULL UNIQUE REFERENCES orders (id),
	discount_minor BIGINT NOT NULL CHECK (discount_minor >= 0),
	created_at     BIGINT NOT NULL,
	PRIMARY KEY (coupon_id, buyer_id)
);
