-- Wrong: forgets items_note_idx.
ALTER TABLE items ADD COLUMN note text;
