-- One row per booking, whatever happened to it: the UNIQUE booking_id is what makes a charge
-- happen at most once, however often (and however concurrently) payment.requested arrives.
CREATE TABLE payments (
    id             UUID PRIMARY KEY,
    booking_id     UUID        NOT NULL UNIQUE,
    user_id        UUID        NOT NULL,
    amount_cents   BIGINT      NOT NULL CHECK (amount_cents >= 0),
    -- CAPTURED: money taken; FAILED: declined; REFUNDED: captured, then given back because the
    -- booking closed; VOIDED: the booking closed before any charge, so none may happen later
    status         TEXT        NOT NULL CHECK (status IN ('CAPTURED', 'FAILED', 'REFUNDED', 'VOIDED')),
    failure_reason TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    refunded_at    TIMESTAMPTZ
);

CREATE INDEX payments_user_id ON payments (user_id);
