-- Orders written before 0016 recorded their coupon only in
-- coupon_redemptions, and a flash order was not marked as one.
UPDATE orders SET source = 'flash_sale' WHERE id IN (SELECT order_id FROM flash_sale_orders);
UPDATE orders SET
	discount_minor = (SELECT r.discount_minor FROM coupon_redemptions r WHERE r.order_id = orders.id),
	coupon_code = (SELECT c.code FROM coupon_redemptions r JOIN coupons c ON c.id = r.coupon_id WHERE r.order_id = orders.id)
WHERE id IN (SELECT order_id FROM coupon_redemptions);
