SELECT id, note FROM items ORDER BY id LIMIT 10;
