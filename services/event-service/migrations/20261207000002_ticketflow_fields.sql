-- TicketFlow's event and venue fields (OmLanke/fms event-service, app/schemas): an image, tags,
-- the seat count its clients show, and a venue's country. Existing rows take TicketFlow's
-- defaults: no image, no tags, every seat available (NULL = total_seats), no country.
ALTER TABLE venues ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN image_url TEXT;
ALTER TABLE events ADD COLUMN tags TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE events ADD COLUMN available_seats INTEGER CHECK (available_seats >= 0);
