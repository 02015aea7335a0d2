-- expect: class=drop-column verdict=restore-only schemaRestored=fail
DROP INDEX items_note_idx;
ALTER TABLE items DROP COLUMN note;
