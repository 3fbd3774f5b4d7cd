-- TicketFlow's checkout: POST /api/payments/create-order records the order a client will pay
-- (TicketFlow creates a PENDING payment there). The payment the simulated processor settles for
-- the booking gets payment_id (a UUID v5 of the booking), so POST /api/payments/verify finds
-- either the settled payment or, before it is settled, this order (PENDING).
CREATE TABLE IF NOT EXISTS payment_orders (
    booking_id   UUID PRIMARY KEY,
    payment_id   UUID NOT NULL UNIQUE,
    user_id      UUID NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
