-- Users, their roles, sessions (refresh tokens), addresses, token signing keys and rate-limit counters.

-- Emails are stored normalized (trimmed, lowercase) by the service, so a plain unique index is enough.
CREATE TABLE users (
    id                  uuid PRIMARY KEY,
    email               text NOT NULL,
    name                text NOT NULL,
    -- PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash): parameters travel with each hash.
    password_hash       text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE user_roles (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('customer', 'merchandiser', 'ops', 'admin')),
    granted_at timestamptz NOT NULL DEFAULT now(),
    -- The admin who granted it; NULL for roles given at registration or by the command line.
    granted_by uuid,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role ON user_roles (role);

-- One row per refresh token ever issued. A family is one sign-in: each refresh marks the presented token
-- used and adds its successor to the family; presenting a used token again revokes the whole family.
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the token: tokens are 256 random bits, so a fast hash is enough and a leaked table
    -- yields no usable token.
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE addresses (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('shipping', 'billing')),
    is_default  boolean NOT NULL DEFAULT false,
    name        text NOT NULL,
    line1       text NOT NULL,
    line2       text,
    city        text NOT NULL,
    region      text,
    postal_code text NOT NULL,
    country     text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    phone       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- At most one default per user and kind, enforced by the database whatever the code does.
CREATE UNIQUE INDEX addresses_one_default ON addresses (user_id, kind) WHERE is_default;
CREATE INDEX addresses_user ON addresses (user_id, kind, created_at);

-- Ed25519 keys that sign access tokens. Exactly one is active (signs); retired keys stay published in the
-- JWKS until `verify_until`, when the last token they signed has expired.
CREATE TABLE signing_keys (
    kid             text PRIMARY KEY,
    private_key_pem text NOT NULL,
    public_jwk      jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    retired_at      timestamptz,
    verify_until    timestamptz,
    CHECK ((retired_at IS NULL) = (verify_until IS NULL))
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE retired_at IS NULL;

-- Fixed-window counters shared by every replica: `bucket` names what is limited (e.g. `login:client:<ip>`).
CREATE TABLE rate_limits (
    bucket            text PRIMARY KEY,
    window_started_at timestamptz NOT NULL,
    hits              integer NOT NULL
);
CREATE INDEX rate_limits_window ON rate_limits (window_started_at);
