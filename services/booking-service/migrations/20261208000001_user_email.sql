-- TicketFlow's booking.initiated, booking.confirmed and booking.failed carry the booker's email
-- (its notification-service mails it). Bookings made before this migration have none ('').
ALTER TABLE bookings ADD COLUMN IF NOT EXISTS user_email TEXT NOT NULL DEFAULT '';
