-- Groups (organizations, teams, ...) with their tags, memberships and invites.
-- Text that lists sort by uses COLLATE "C" (byte order), the order cursors assume.

CREATE TABLE groups (
    id          uuid PRIMARY KEY,
    name        text COLLATE "C" NOT NULL,
    slug        text COLLATE "C",
    kind        text COLLATE "C" NOT NULL,
    parent_id   uuid REFERENCES groups (id) ON DELETE CASCADE,
    extend      jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT groups_slug_key UNIQUE (slug)
);
CREATE INDEX groups_parent_idx ON groups (parent_id, created_at, id);
CREATE INDEX groups_created_idx ON groups (created_at, id);
CREATE INDEX groups_name_idx ON groups (name, id);
CREATE INDEX groups_kind_idx ON groups (kind, id);

CREATE TABLE group_tags (
    group_id  uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    key       text NOT NULL,
    value     text NOT NULL,
    PRIMARY KEY (group_id, key)
);
CREATE INDEX group_tags_key_value_idx ON group_tags (key, value, group_id);

CREATE TABLE members (
    id          uuid PRIMARY KEY,
    group_id    uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        text NOT NULL,
    status      text NOT NULL,
    extend      jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT members_group_user_key UNIQUE (group_id, user_id)
);
CREATE INDEX members_user_idx ON members (user_id, created_at, id);
CREATE INDEX members_group_idx ON members (group_id, created_at, id);

CREATE TABLE invites (
    id           uuid PRIMARY KEY,
    group_id     uuid REFERENCES groups (id) ON DELETE CASCADE,
    email        text COLLATE "C",
    role         text,
    status       text NOT NULL,
    token_hash   bytea NOT NULL,
    inviter_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    expires_at   timestamptz,
    accepted_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    accepted_at  timestamptz,
    revoked_at   timestamptz,
    extend       jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT invites_token_hash_key UNIQUE (token_hash)
);
-- One pending invite per (email, group); a NULL group counts as one value (the zero id).
CREATE UNIQUE INDEX invites_pending_key
    ON invites (email, COALESCE(group_id, '00000000-0000-0000-0000-000000000000'::uuid))
    WHERE status = 'pending' AND email IS NOT NULL;
CREATE INDEX invites_group_idx ON invites (group_id, created_at, id);
CREATE INDEX invites_created_idx ON invites (created_at, id);
CREATE INDEX invites_email_idx ON invites (email, created_at, id);
CREATE INDEX invites_inviter_idx ON invites (inviter_id);
CREATE INDEX invites_accepted_by_idx ON invites (accepted_by);
