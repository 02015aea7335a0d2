-- Adds an optional email.
ALTER TABLE users ADD COLUMN email text;

-- A comment; with a semicolon
UPDATE users SET email = name || '@example.com';
