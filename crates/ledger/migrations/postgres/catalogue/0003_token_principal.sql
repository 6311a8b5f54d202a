-- The person a token of a human role belongs to (OIDC `sub` or e-mail), checked against
-- the ID token presented when MFA is required. NULL: not bound (service and admin tokens).
ALTER TABLE tokens ADD COLUMN principal TEXT;
