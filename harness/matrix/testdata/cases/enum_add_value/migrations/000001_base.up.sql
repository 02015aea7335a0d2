CREATE TYPE key_kind AS ENUM ('rsa', 'ec');
CREATE TABLE keys (
    id bigserial PRIMARY KEY,
    kind key_kind NOT NULL
);
