CREATE TABLE seats (
    id           UUID PRIMARY KEY,          -- kit::messages::seat_id(event, section, seat_number)
    event_id     UUID        NOT NULL,
    position     INTEGER     NOT NULL,      -- order in the layout, for listing
    section      TEXT        NOT NULL,
    row_label    TEXT        NOT NULL,
    seat_number  TEXT        NOT NULL,
    price_cents  BIGINT      NOT NULL,
    status       TEXT        NOT NULL DEFAULT 'AVAILABLE' CHECK (status IN ('AVAILABLE', 'LOCKED', 'RESERVED')),
    booking_id   UUID,
    locked_until TIMESTAMPTZ,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- a held seat names its holder; a free one names nobody
    CHECK ((status = 'AVAILABLE') = (booking_id IS NULL))
);
CREATE UNIQUE INDEX seats_event_position ON seats (event_id, position);
CREATE INDEX seats_expired_locks ON seats (locked_until) WHERE status = 'LOCKED';

-- Redis keys whose owner-checked delete failed (Redis down); the sweeper retries them.
CREATE TABLE redis_cleanup (
    id         BIGSERIAL PRIMARY KEY,
    event_id   UUID        NOT NULL,
    seat_id    UUID        NOT NULL,
    booking_id UUID        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
