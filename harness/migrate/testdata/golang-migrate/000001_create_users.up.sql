-- Creates the users table.
-- N-era rows live here.
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    name text NOT NULL
);
