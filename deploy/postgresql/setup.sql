-- The trafficwatch database and its owner. Run as the postgres superuser:
--   sudo -u postgres psql -v password="$(cat /root/tw-db-password)" -f deploy/postgresql/setup.sql
-- then put the same password (URL-encoded) in TW_DATABASE_URL. The server creates and migrates
-- its tables itself (`trafficwatch server migrate`, run by the API unit on every start).
\set ON_ERROR_STOP on
CREATE ROLE trafficwatch LOGIN PASSWORD :'password';
CREATE DATABASE trafficwatch OWNER trafficwatch ENCODING 'UTF8';
-- Times are stored in UTC; the server converts for display.
ALTER ROLE trafficwatch SET timezone = 'UTC';
-- A transaction left open by a hung client releases its locks (the audit chain head, the
-- scheduler lease) after 10 minutes; no job holds one that long.
ALTER ROLE trafficwatch SET idle_in_transaction_session_timeout = '10min';
\connect trafficwatch
-- Only the owner creates objects (PostgreSQL 15's default, stated for older versions).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO trafficwatch;
