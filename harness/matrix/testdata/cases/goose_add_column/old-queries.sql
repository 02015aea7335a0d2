SELECT id, name, note FROM items ORDER BY id LIMIT 10;
INSERT INTO items (name) VALUES ('probe');
