SELECT id, name, note FROM items ORDER BY id LIMIT 10;
