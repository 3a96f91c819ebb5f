-- Moderators are appointed by invitation (audit issue 12): the seller
-- invites an email address, and the account with that email (now or once
-- it signs up) accepts or declines. Until then nothing about the account is
-- shown to the seller. status is pending, accepted, declined, revoked or
-- expired; a pending invitation past expires_at counts as expired. At most
-- one invitation per shop and email is pending.
CREATE TABLE moderator_invitations (
	id          INTEGER PRIMARY KEY,
	shop_id     BIGINT NOT NULL REFERENCES shops (id) ON DELETE CASCADE,
	email       TEXT NOT NULL,
	invited_by  BIGINT NOT NULL,
	status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'declined', 'revoked', 'expired')),
	account_id  BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT NOT NULL,
	answered_at BIGINT
);
CREATE UNIQUE INDEX moderator_invitations_pending ON moderator_invitations (shop_id, email) WHERE status = 'pending';
CREATE INDEX moderator_invitations_email ON moderator_invitations (email) WHERE status = 'pending';
CREATE INDEX moderator_invitations_shop ON moderator_invitations (shop_id, id);

-- The email the seller typed in the invitation the moderator accepted: the
-- only email the moderators list shows. Appointments made before
-- invitations have none, so the list shows their display name only.
ALTER TABLE shop_moderators ADD COLUMN invited_email TEXT NOT NULL DEFAULT '';
