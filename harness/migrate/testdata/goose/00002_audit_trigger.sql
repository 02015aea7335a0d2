-- +goose Up
-- Audits every insert into users.
-- +goose StatementBegin
CREATE FUNCTION audit_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit (user_id, what) VALUES (NEW.id, 'insert; done');
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER users_audit AFTER INSERT ON users
    FOR EACH ROW EXECUTE FUNCTION audit_user();

-- +goose Down
DROP TRIGGER users_audit ON users;
-- +goose StatementBegin
DROP FUNCTION audit_user();
-- +goose StatementEnd
