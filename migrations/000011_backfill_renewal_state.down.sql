UPDATE certificates
SET renewal_state = 'pending'
WHERE renewal_state IN ('none', 'overdue', 'scheduled');
