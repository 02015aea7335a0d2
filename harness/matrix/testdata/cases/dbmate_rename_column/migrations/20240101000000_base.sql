-- migrate:up
CREATE TABLE items (
    id bigserial PRIMARY KEY,
    name varchar(20) NOT NULL,
    note text
);

-- migrate:down
DROP TABLE items;
