-- A new NOT NULL column without a default: release N's inserts lack it.
ALTER TABLE tags ADD COLUMN slug text;
UPDATE tags SET slug = 'tag-' || id;
ALTER TABLE tags ALTER COLUMN slug SET NOT NULL;
