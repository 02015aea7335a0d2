CREATE TABLE jobs (
    id bigserial PRIMARY KEY,
    status text NOT NULL,
    note text
);
