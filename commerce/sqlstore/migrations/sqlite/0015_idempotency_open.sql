-- The checkout sweeper looks for unfinished keys whose lease ran out.
CREATE INDEX idempotency_keys_open ON idempotency_keys (scope, locked_until) WHERE NOT done;
