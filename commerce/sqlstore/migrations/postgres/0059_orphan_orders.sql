-- The checkout sweepers walk orders, not only idempotency keys: an order
-- still awaiting payment that no unfinished key leads to is an orphan of a
-- checkout that is gone, and is settled. These indexes keep that walk to
-- the few orders awaiting payment and the keys that name a resource.
CREATE INDEX orders_awaiting ON orders (updated_at) WHERE status = 'awaiting_payment';
CREATE INDEX idempotency_keys_resource ON idempotency_keys (resource_id) WHERE resource_id <> 0 AND NOT done;
