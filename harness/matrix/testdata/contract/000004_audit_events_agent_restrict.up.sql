-- Keep the audit trail: deleting an agent with events is now refused.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_agent_id_fkey;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_agent_id_fkey
    FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE RESTRICT;
