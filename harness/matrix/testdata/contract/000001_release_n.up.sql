-- Release N: agents with their audit trail (ON DELETE CASCADE), a ledger, tags.
CREATE TABLE agents (
    id bigserial PRIMARY KEY,
    hostname text NOT NULL UNIQUE,
    region varchar(32)
);
CREATE TABLE audit_events (
    id bigserial PRIMARY KEY,
    agent_id bigint NOT NULL,
    action text NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_events_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE
);
CREATE TABLE ledger (
    id bigserial PRIMARY KEY,
    amount numeric(12,2) NOT NULL,
    note text
);
CREATE TABLE tags (
    id bigserial PRIMARY KEY,
    name text NOT NULL
);
