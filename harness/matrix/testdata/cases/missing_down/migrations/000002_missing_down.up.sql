-- expect: verdict=broken class=add-column
ALTER TABLE items ADD COLUMN color text;
