CREATE FUNCTION audit_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$;
-- Event triggers need a superuser: the migrator is not one in production.
CREATE EVENT TRIGGER audit_ddl ON ddl_command_end EXECUTE FUNCTION audit_ddl();
