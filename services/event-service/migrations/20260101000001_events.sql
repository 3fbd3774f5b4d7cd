CREATE TABLE venues (
    id         UUID PRIMARY KEY,
    name       TEXT        NOT NULL,
    address    TEXT        NOT NULL DEFAULT '',
    city       TEXT        NOT NULL DEFAULT '',
    capacity   INTEGER     NOT NULL DEFAULT 0 CHECK (capacity >= 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE events (
    id                  UUID PRIMARY KEY,
    name                TEXT        NOT NULL,
    description         TEXT        NOT NULL DEFAULT '',
    venue_id            UUID        NOT NULL REFERENCES venues (id),
    event_date          TIMESTAMPTZ NOT NULL,
    category            TEXT        NOT NULL DEFAULT 'general',
    total_seats         INTEGER     NOT NULL CHECK (total_seats > 0),
    -- per-section prices in cents: {"VIP": 15000, "FLOOR": 10000, "BALCONY": 6000}
    pricing             JSONB       NOT NULL,
    status              TEXT        NOT NULL DEFAULT 'ON_SALE',
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX events_event_date ON events (event_date, id);
