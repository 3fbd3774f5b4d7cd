-- One database per service (ARCHITECTURE.md section 4). The services also create their database
-- when it is missing; creating them here keeps a fresh volume ready before the first start.
CREATE DATABASE ticketflow_users;
CREATE DATABASE ticketflow_events;
CREATE DATABASE ticketflow_bookings;
CREATE DATABASE ticketflow_inventory;
CREATE DATABASE ticketflow_payments;
CREATE DATABASE ticketflow_notifications;
