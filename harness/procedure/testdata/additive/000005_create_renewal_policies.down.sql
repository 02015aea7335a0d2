DROP TABLE renewal_policies;
