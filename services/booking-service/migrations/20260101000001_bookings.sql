-- What booking-service knows of events, from event.created: names and seat prices, so the server
-- (not the client) decides price and event name, without a synchronous call to another service.
CREATE TABLE events (
    event_id   UUID PRIMARY KEY,
    name       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE seat_catalog (
    seat_id     UUID PRIMARY KEY,            -- kit::messages::seat_id, the same id inventory uses
    event_id    UUID   NOT NULL REFERENCES events (event_id),
    price_cents BIGINT NOT NULL
);
CREATE INDEX seat_catalog_event ON seat_catalog (event_id);

CREATE TABLE bookings (
    id              UUID PRIMARY KEY,
    user_id         UUID        NOT NULL,
    event_id        UUID        NOT NULL,
    event_name      TEXT        NOT NULL,
    seat_ids        UUID[]      NOT NULL,
    amount_cents    BIGINT      NOT NULL,
    status          TEXT        NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'FAILED', 'EXPIRED', 'CANCELLED')),
    -- where a PENDING booking is in the saga
    stage           TEXT        NOT NULL DEFAULT 'AWAITING_SEATS' CHECK (stage IN ('AWAITING_SEATS', 'AWAITING_PAYMENT', 'DONE')),
    failure_reason  TEXT,
    idempotency_key TEXT,
    request_hash    TEXT,
    payment_id      UUID,
    lock_expires_at TIMESTAMPTZ,
    expires_at      TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX bookings_pending_expiry ON bookings (expires_at) WHERE status = 'PENDING';
CREATE INDEX bookings_user ON bookings (user_id, created_at DESC);
