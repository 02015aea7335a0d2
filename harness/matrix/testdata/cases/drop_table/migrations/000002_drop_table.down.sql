CREATE TABLE legacy (id bigserial PRIMARY KEY, payload text);
