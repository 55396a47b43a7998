-- A session records the SSO connection that signed its user in (NULL for every other
-- sign-in). No foreign key: the record outlives the connection. Requiring SSO on a domain
-- revokes the domain's users' sessions except those of its organization's connections
-- (through sessions_user_idx, per user whose address is on the domain).
ALTER TABLE sessions ADD COLUMN sso_connection_id BLOB;
