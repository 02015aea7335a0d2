-- +migrate Up
CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, updated_at timestamptz);

-- +migrate Down
DROP TABLE users;
