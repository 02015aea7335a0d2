-- expect: class=add-constraint verdict=broken up=fail
-- N-era data has duplicate names: real data would too.
ALTER TABLE items ADD CONSTRAINT items_name_key UNIQUE (name);
