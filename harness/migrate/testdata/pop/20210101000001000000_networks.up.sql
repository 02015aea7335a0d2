CREATE TABLE networks (id char(36) PRIMARY KEY, created_at timestamp NOT NULL);
