DROP TABLE agent_heartbeats;
DROP TABLE agents;
