SELECT id, name, qty FROM items WHERE qty > 3 ORDER BY id LIMIT 10;
