ALTER TABLE identities ADD COLUMN state varchar(255) NOT NULL DEFAULT 'active';
