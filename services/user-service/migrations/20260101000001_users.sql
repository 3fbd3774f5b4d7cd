CREATE TABLE users (
    id            UUID PRIMARY KEY,
    name          TEXT        NOT NULL,
    -- stored lower-cased; the unique index is what makes registration race-free
    email         TEXT        NOT NULL UNIQUE,
    password_hash TEXT        NOT NULL,
    role          TEXT        NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
