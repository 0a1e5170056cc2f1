-- Bearer tokens for writes. Only a SHA-256 of the secret is stored.
CREATE TABLE api_tokens (
    id          text        PRIMARY KEY,
    name        text        NOT NULL,
    scope       text        NOT NULL CHECK (scope IN ('write')),
    secret_hash bytea       NOT NULL CHECK (length(secret_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
