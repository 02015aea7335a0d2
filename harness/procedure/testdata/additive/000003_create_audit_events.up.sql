-- expect: class=add-table
-- Release 1.0 base schema: the audit trail. agent_id has no FK on purpose
-- (1.2 adds it, see 000013).
CREATE TABLE audit_events (
    id             bigserial PRIMARY KEY,
    certificate_id bigint REFERENCES certificates (id) ON DELETE CASCADE,
    agent_id       bigint,
    actor          text NOT NULL,
    action         varchar(32) NOT NULL,
    details        text,
    occurred_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audit_events_certificate_id_idx ON audit_events (certificate_id);
