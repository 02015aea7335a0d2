-- localyyz/api 00000000000002_Views.sql: "NOTE: MUST RUN `CREATE EXTENSION pg_trgm;`"
-- (run by hand in production, not by a migration).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
