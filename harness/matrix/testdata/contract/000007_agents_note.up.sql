-- Harmless: a nullable column.
ALTER TABLE agents ADD COLUMN note text;
