-- TicketFlow's seats carry createdAt. Seats that exist take the time of this migration (a
-- constant default: no table rewrite).
ALTER TABLE seats ADD COLUMN created_at TIMESTAMPTZ NOT NULL DEFAULT now();
