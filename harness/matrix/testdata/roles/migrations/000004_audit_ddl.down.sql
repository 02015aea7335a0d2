DROP EVENT TRIGGER audit_ddl;
DROP FUNCTION audit_ddl();
