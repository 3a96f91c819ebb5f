-- Whether the room's "just bought" ticker may show the buyer's display name;
-- without a row it shows an anonymous buyer.
CREATE TABLE purchase_privacy (
	account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	show_name  BOOLEAN NOT NULL,
	updated_at BIGINT NOT NULL
);
