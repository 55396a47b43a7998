-- An organization can require a second factor of the members acting in it (and in the
-- groups below it).
ALTER TABLE groups ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0 CHECK (require_mfa IN (0, 1));
