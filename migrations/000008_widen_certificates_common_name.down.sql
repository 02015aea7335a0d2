-- WRONG on purpose: fails once 1.1 has stored a name longer than 64 characters.
ALTER TABLE certificates ALTER COLUMN common_name TYPE varchar(64);
