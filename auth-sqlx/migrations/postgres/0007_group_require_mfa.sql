-- An organization can require a second factor of the members acting in it (and in the
-- groups below it).
ALTER TABLE groups ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
