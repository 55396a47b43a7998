-- Groups (organizations, teams, ...) with their tags, memberships and invites.
-- Ids are 16-byte BLOBs, timestamps INTEGER microseconds since the Unix epoch, JSON TEXT.

CREATE TABLE groups (
    id          BLOB PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    slug        TEXT,
    kind        TEXT NOT NULL,
    parent_id   BLOB REFERENCES groups (id) ON DELETE CASCADE,
    extend      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX groups_slug_key ON groups (slug);
CREATE INDEX groups_parent_idx ON groups (parent_id, created_at, id);
CREATE INDEX groups_created_idx ON groups (created_at, id);
CREATE INDEX groups_name_idx ON groups (name, id);
CREATE INDEX groups_kind_idx ON groups (kind, id);

CREATE TABLE group_tags (
    group_id  BLOB NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (group_id, key)
) STRICT;
CREATE INDEX group_tags_key_value_idx ON group_tags (key, value, group_id);

CREATE TABLE members (
    id          BLOB PRIMARY KEY NOT NULL,
    group_id    BLOB NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    status      TEXT NOT NULL,
    extend      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX members_group_user_key ON members (group_id, user_id);
CREATE INDEX members_user_idx ON members (user_id, created_at, id);
CREATE INDEX members_group_idx ON members (group_id, created_at, id);

CREATE TABLE invites (
    id           BLOB PRIMARY KEY NOT NULL,
    group_id     BLOB REFERENCES groups (id) ON DELETE CASCADE,
    email        TEXT,
    role         TEXT,
    status       TEXT NOT NULL,
    token_hash   BLOB NOT NULL,
    inviter_id   BLOB REFERENCES users (id) ON DELETE SET NULL,
    expires_at   INTEGER,
    accepted_by  BLOB REFERENCES users (id) ON DELETE SET NULL,
    accepted_at  INTEGER,
    revoked_at   INTEGER,
    extend       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX invites_token_hash_key ON invites (token_hash);
-- One pending invite per (email, group); a NULL group counts as one value (the zero id).
CREATE UNIQUE INDEX invites_pending_key
    ON invites (email, COALESCE(group_id, X'00000000000000000000000000000000'))
    WHERE status = 'pending' AND email IS NOT NULL;
CREATE INDEX invites_group_idx ON invites (group_id, created_at, id);
CREATE INDEX invites_created_idx ON invites (created_at, id);
CREATE INDEX invites_email_idx ON invites (email, created_at, id);
CREATE INDEX invites_inviter_idx ON invites (inviter_id);
CREATE INDEX invites_accepted_by_idx ON invites (accepted_by);
