CREATE TABLE identities (id uuid PRIMARY KEY, nid uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE, traits jsonb NOT NULL);
