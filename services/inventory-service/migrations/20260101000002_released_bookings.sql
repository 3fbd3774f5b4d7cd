-- Bookings whose seats.release was processed. seats.confirm and seats.release travel on different
-- topics, so a cancel's release can overtake the confirm it follows; a confirm for a booking
-- listed here must not take the (now free) seats back. Found by the chaos checker
-- (seat RESERVED for a CANCELLED booking).
CREATE TABLE released_bookings (
    booking_id  UUID PRIMARY KEY,
    released_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
