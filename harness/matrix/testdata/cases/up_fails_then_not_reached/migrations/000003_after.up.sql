-- expect: verdict=not-reached
ALTER TABLE items ADD COLUMN color text;
