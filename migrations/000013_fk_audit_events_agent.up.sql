-- expect: class=add-constraint verdict=safe up=ok oldCode=ok downPristine=ok schemaRestored=ok downOnData=ok nEraKept=ok nextEraLoss=ok roundTrip=ok
-- Adds the FOREIGN KEY audit_events.agent_id -> agents(id) that 1.0 forgot.
-- NOT VALID, as the zero-downtime guides recommend: existing rows are not
-- checked (no long lock), new ones are. 1.1 code writes agent_id NULL or a
-- real agent (safe); the down drops it (correct).
ALTER TABLE audit_events
    ADD CONSTRAINT audit_events_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES agents (id) NOT VALID;
