SELECT id, name, code, qty, note FROM items ORDER BY id LIMIT 10;
INSERT INTO items (name, code) VALUES ('probe', 'p-1');
