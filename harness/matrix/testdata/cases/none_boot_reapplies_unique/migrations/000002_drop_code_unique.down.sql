CREATE UNIQUE INDEX items_code_key ON items (code);
