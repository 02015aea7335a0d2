-- WRONG on purpose: fails once 1.2 has registered two agents on one host.
ALTER TABLE agents ADD CONSTRAINT agents_hostname_key UNIQUE (hostname);
