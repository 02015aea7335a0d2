--
-- PostgreSQL database cluster dump
--

\restrict abc123

SET default_transaction_read_only = off;

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

--
-- Roles
--

CREATE ROLE roles_test_owner;
ALTER ROLE roles_test_owner WITH NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE roles_test_migrator;
ALTER ROLE roles_test_migrator WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS PASSWORD 'SCRAM-SHA-256$4096:abc$def:ghi';
CREATE ROLE "roles_test_App";
ALTER ROLE "roles_test_App" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 20 VALID UNTIL 'infinity';

--
-- User Configurations
--

ALTER ROLE "roles_test_App" SET search_path TO 'public';

--
-- Role memberships
--

GRANT roles_test_owner TO roles_test_migrator WITH INHERIT TRUE GRANTED BY postgres;

\unrestrict abc123

--
-- PostgreSQL database cluster dump complete
--
