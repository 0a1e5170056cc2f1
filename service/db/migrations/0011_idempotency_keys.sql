-- Idempotency keys of `POST /v1/events` (the `Idempotency-Key` header), scoped by the token
-- that sent them. `fingerprint`: SHA-256 of the request's events and expected positions;
-- `status` and `response`: the answer given, replayed to a retry (NULL until it is known).
-- Kept 24 hours (service.eventlog.idempotency.RETENTION): older rows are deleted when new
-- keys are claimed, and an expired key may be used again.
CREATE TABLE idempotency_keys (
    token_id    text        NOT NULL,
    key         text        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint bytea       NOT NULL CHECK (length(fingerprint) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    status      int,
    response    bytea,
    PRIMARY KEY (token_id, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
