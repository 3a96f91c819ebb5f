-- What a live coupon took off an order (the total is what is left), the
-- coupon's code as it was at checkout, and where the order came from: the
-- cart, a "Buy now" outside the cart, or a flash-sale reservation. Only a
-- cart order's lines go back into the cart when its payment is refused.
ALTER TABLE orders ADD COLUMN discount_minor BIGINT NOT NULL DEFAULT 0 CHECK (discount_minor >= 0);
ALTER TABLE orders ADD COLUMN coupon_code TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN source TEXT NOT NULL DEFAULT 'cart' CHECK (source IN ('cart', 'buy_now', 'flash_sale'));
