-- The users this service has heard of (user.registered), so notifications can be addressed.
CREATE TABLE users (
    id         UUID PRIMARY KEY,
    email      TEXT        NOT NULL,
    name       TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE notifications (
    id         UUID PRIMARY KEY,
    user_id    UUID        NOT NULL,
    -- NULL only for WELCOME, which is about the user, not a booking
    booking_id UUID,
    kind       TEXT        NOT NULL CHECK (kind IN ('WELCOME', 'CONFIRMED', 'FAILED', 'EXPIRED', 'CANCELLED')),
    subject    TEXT        NOT NULL,
    body       TEXT        NOT NULL,
    -- the user's email when the directory knew it at the time
    recipient  TEXT,
    -- RECORDED: stored (no SMTP configured, no recipient, or not sent yet); SENT; SEND_FAILED
    status     TEXT        NOT NULL DEFAULT 'RECORDED' CHECK (status IN ('RECORDED', 'SENT', 'SEND_FAILED')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at    TIMESTAMPTZ,
    CHECK ((kind = 'WELCOME') = (booking_id IS NULL))
);

-- Exactly one notification per booking and kind, and one welcome per user, however many
-- messages (with however many eventIds) say the same thing: the indexes decide, not the inbox.
CREATE UNIQUE INDEX notifications_one_per_booking_and_kind ON notifications (booking_id, kind)
    WHERE booking_id IS NOT NULL;
CREATE UNIQUE INDEX notifications_one_welcome_per_user ON notifications (user_id)
    WHERE kind = 'WELCOME';
CREATE INDEX notifications_recent_by_user ON notifications (user_id, created_at DESC);
