-- The sale status of each event, from event.updated: only ON_SALE events can be booked.
-- status_updated_at is the event-service time of the update applied last; an older update
-- (redelivered, replayed from a dead-letter topic) never overwrites a newer one.
ALTER TABLE events
    ADD COLUMN status            TEXT NOT NULL DEFAULT 'ON_SALE',
    ADD COLUMN status_updated_at TIMESTAMPTZ;
