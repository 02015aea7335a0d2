-- expect: class=add-table
-- Release 1.0 base schema: the agents that install certificates on hosts, and
-- their heartbeats. 1.0 has no previous release, so only the class is stated;
-- the matrix judges migrations from 1.0 on (--from 000003).
CREATE TABLE agents (
    id            bigserial PRIMARY KEY,
    hostname      varchar(64) NOT NULL,
    platform      varchar(32) NOT NULL,
    agent_version text,
    last_seen_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT agents_hostname_key UNIQUE (hostname)
);

CREATE TABLE agent_heartbeats (
    id       bigserial PRIMARY KEY,
    agent_id bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    seen_at  timestamptz NOT NULL DEFAULT now(),
    status   varchar(16) NOT NULL
);

CREATE INDEX agent_heartbeats_agent_id_seen_at_idx ON agent_heartbeats (agent_id, seen_at);
