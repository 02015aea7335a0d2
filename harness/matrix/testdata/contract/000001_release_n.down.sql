DROP TABLE tags, ledger, audit_events, agents;
