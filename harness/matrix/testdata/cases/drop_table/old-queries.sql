SELECT id, payload FROM legacy LIMIT 5;
