ALTER TABLE agents DROP CONSTRAINT agents_hostname_not_blank;
