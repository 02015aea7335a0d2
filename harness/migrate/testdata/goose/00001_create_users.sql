-- Creates the users table.
-- +goose Up
CREATE TABLE users (id bigserial PRIMARY KEY, name text NOT NULL);
CREATE TABLE audit (id bigserial PRIMARY KEY, user_id bigint, what text);

-- +goose Down
DROP TABLE audit;
DROP TABLE users;
