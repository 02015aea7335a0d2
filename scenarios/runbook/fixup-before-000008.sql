-- The ops team's manual fix-up between two down files (runbook step 4):
-- release 1.1 accepts longer common names and certificates without an
-- owner; release 1.0's columns do not. Make the rows fit before 000008's
-- and 000007's downs narrow the columns again.
UPDATE certificates SET common_name = left(common_name, 64) WHERE length(common_name) > 64;
UPDATE certificates SET owner_email = 'unknown@example.invalid' WHERE owner_email IS NULL;
