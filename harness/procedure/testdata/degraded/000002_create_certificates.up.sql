-- expect: class=add-table
-- Release 1.0 base schema: the certificate inventory. Constraints a seeder and
-- the downs must respect: PK, UNIQUE serial_number, NOT NULLs, an FK to agents,
-- varchar(n) limits and a CHECK on status.
CREATE TABLE certificates (
    id            bigserial PRIMARY KEY,
    serial_number varchar(64) NOT NULL,
    common_name   varchar(64) NOT NULL,
    owner_email   text NOT NULL,
    agent_id      bigint NOT NULL REFERENCES agents (id),
    key_algorithm varchar(16) NOT NULL DEFAULT 'RSA',
    not_before    timestamptz NOT NULL,
    not_after     timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'active',
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT certificates_serial_number_key UNIQUE (serial_number),
    CONSTRAINT certificates_status_check CHECK (status IN ('active', 'revoked', 'expired'))
);

CREATE INDEX certificates_agent_id_idx ON certificates (agent_id);
