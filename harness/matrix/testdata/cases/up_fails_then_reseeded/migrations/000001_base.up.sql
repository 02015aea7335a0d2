CREATE TABLE items (
    id bigserial PRIMARY KEY,
    name varchar(20) NOT NULL,
    code text NOT NULL,
    qty integer NOT NULL DEFAULT 0,
    note text
);
