-- expect: class=backfill verdict=safe up=ok oldCode=ok downPristine=ok schemaRestored=ok downOnData=ok roundTrip=ok
-- Backfills renewal_state for every certificate still 'pending' (all 1.0-era
-- rows). Schema unchanged, 1.0 code never reads the column (safe). The down
-- puts 'pending' back on the states this backfill can write.
UPDATE certificates
SET renewal_state = CASE
        WHEN status = 'revoked' THEN 'none'
        WHEN not_after < now() THEN 'overdue'
        ELSE 'scheduled'
    END
WHERE renewal_state = 'pending';
