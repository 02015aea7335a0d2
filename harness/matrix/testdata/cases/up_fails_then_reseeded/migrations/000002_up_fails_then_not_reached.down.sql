ALTER TABLE items DROP CONSTRAINT items_name_key;
