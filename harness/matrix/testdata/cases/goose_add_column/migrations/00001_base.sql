-- +goose Up
CREATE TABLE items (
    id bigserial PRIMARY KEY,
    name varchar(20) NOT NULL,
    note text
);
-- +goose StatementBegin
CREATE FUNCTION items_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.name := trim(NEW.name);
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE items;
DROP FUNCTION items_touch();
