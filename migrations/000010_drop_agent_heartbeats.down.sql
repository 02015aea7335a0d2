-- WRONG on purpose: the index agent_heartbeats_agent_id_seen_at_idx is not re-created.
CREATE TABLE agent_heartbeats (
    id       bigserial PRIMARY KEY,
    agent_id bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    seen_at  timestamptz NOT NULL DEFAULT now(),
    status   varchar(16) NOT NULL
);
