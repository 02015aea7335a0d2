-- WRONG on purpose: fails once 1.1 has written a certificate without an owner.
ALTER TABLE certificates ALTER COLUMN owner_email SET NOT NULL;
