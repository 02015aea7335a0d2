package schema_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// migrate applies setup, snapshots, applies up, snapshots, and diffs.
func migrate(t *testing.T, setup, up string) (before, after *schema.Snapshot, d *schema.Changeset) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	if setup != "" {
		pgtest.Exec(t, dsn, setup)
	}
	before = take(t, dsn, schema.Options{CountRows: true})
	pgtest.Exec(t, dsn, up)
	after = take(t, dsn, schema.Options{})
	return before, after, schema.Diff(before, after)
}

func kinds(d *schema.Changeset) []string {
	out := make([]string, len(d.Changes))
	for i, c := range d.Changes {
		out[i] = c.Kind
	}
	return out
}

func find(d *schema.Changeset, kind string) *schema.Change {
	for i := range d.Changes {
		if d.Changes[i].Kind == kind {
			return &d.Changes[i]
		}
	}
	return nil
}

const certs = `
CREATE TABLE agents (id bigserial PRIMARY KEY, hostname varchar(64) NOT NULL, CONSTRAINT agents_hostname_key UNIQUE (hostname));
CREATE TABLE certificates (
	id bigserial PRIMARY KEY,
	serial varchar(64) NOT NULL,
	owner_email text NOT NULL,
	agent_id bigint REFERENCES agents (id),
	status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
	notes text
);
CREATE INDEX certificates_serial_idx ON certificates (serial);
`

func TestClassify(t *testing.T) {
	cases := []struct {
		name  string
		setup string
		up    string
		data  bool
		role  string // a role created before and dropped after the test
		class string
		// kinds is the exact list of change kinds Diff reports, in order.
		kinds []string
	}{
		{"add column with default, unique and FK", certs,
			`ALTER TABLE certificates ADD COLUMN issuer_id bigint NOT NULL DEFAULT 1 UNIQUE REFERENCES agents (id)`,
			false, "", "add-column", []string{"add-column", "add-constraint", "add-constraint"}},
		{"add serial column", certs, `ALTER TABLE certificates ADD COLUMN seq serial`,
			false, "", "add-column", []string{"add-column", "add-sequence"}},
		{"add column and index it", certs,
			`ALTER TABLE certificates ADD COLUMN renewal_state varchar(16); CREATE INDEX ON certificates (renewal_state)`,
			false, "", "add-column", []string{"add-column", "add-index"}},
		{"add table", certs, `CREATE TABLE issuers (id bigserial PRIMARY KEY, name text UNIQUE, agent_id bigint REFERENCES agents (id));
CREATE INDEX ON issuers (agent_id);
CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER issuers_f BEFORE INSERT ON issuers FOR EACH ROW EXECUTE FUNCTION f();`,
			false, "", "add-table", []string{"add-table", "add-sequence", "add-function", "add-trigger"}},
		{"add table alone", certs, `CREATE TABLE issuers (id bigserial PRIMARY KEY, name text UNIQUE, agent_id bigint REFERENCES agents (id));
CREATE INDEX ON issuers (agent_id);`,
			false, "", "add-table", []string{"add-table", "add-sequence"}},
		{"add index", certs, `CREATE INDEX certificates_status_idx ON certificates (status)`,
			false, "", "add-index", []string{"add-index"}},
		{"add unique index", certs, `CREATE UNIQUE INDEX certificates_serial_key ON certificates (serial)`,
			false, "", "add-constraint", []string{"add-index"}},
		{"add check", certs, `ALTER TABLE agents ADD CONSTRAINT agents_hostname_not_blank CHECK (btrim(hostname) <> '')`,
			false, "", "add-constraint", []string{"add-constraint"}},
		{"add FK not valid", certs + `ALTER TABLE certificates ADD COLUMN issuer_agent bigint;`,
			`ALTER TABLE certificates ADD CONSTRAINT certificates_issuer_agent_fkey FOREIGN KEY (issuer_agent) REFERENCES agents (id) NOT VALID`,
			false, "", "add-constraint", []string{"add-constraint"}},
		{"set not null", certs, `ALTER TABLE certificates ALTER COLUMN notes SET NOT NULL`,
			false, "", "add-constraint", []string{"set-not-null"}},
		{"add trigger", certs + `CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;`,
			`CREATE TRIGGER certs_f BEFORE INSERT ON certificates FOR EACH ROW EXECUTE FUNCTION f()`,
			false, "", "add-constraint", []string{"add-trigger"}},
		{"drop not null", certs, `ALTER TABLE certificates ALTER COLUMN owner_email DROP NOT NULL`,
			false, "", "drop-constraint", []string{"drop-not-null"}},
		{"drop unique", certs, `ALTER TABLE agents DROP CONSTRAINT agents_hostname_key`,
			false, "", "drop-constraint", []string{"drop-constraint"}},
		{"drop index", certs, `DROP INDEX certificates_serial_idx`,
			false, "", "drop-constraint", []string{"drop-index"}},
		{"add enum value", certs + `CREATE TYPE kind AS ENUM ('rsa', 'ec'); ALTER TABLE certificates ADD COLUMN kind kind;`,
			`ALTER TYPE kind ADD VALUE 'ed25519'`,
			false, "", "add-enum-value", []string{"add-enum-value"}},
		{"rename column", certs, `ALTER TABLE certificates RENAME COLUMN serial TO serial_number; ALTER TABLE certificates RENAME COLUMN status TO state`,
			false, "", "rename-column", []string{"rename-column", "rename-column"}},
		{"rename referenced column", certs, `ALTER TABLE agents RENAME COLUMN id TO agent_id`,
			false, "", "rename-column", []string{"rename-column"}},
		{"rename table", certs + `CREATE VIEW active AS SELECT serial FROM certificates WHERE status = 'active';
CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER certs_f BEFORE INSERT ON certificates FOR EACH ROW EXECUTE FUNCTION f();`,
			`ALTER TABLE agents RENAME TO hosts; ALTER TABLE certificates RENAME TO certs`,
			false, "", "rename-table", []string{"rename-table", "rename-table"}},
		{"rename table and its index", certs, `ALTER TABLE certificates RENAME TO certs; ALTER INDEX certificates_serial_idx RENAME TO certs_serial_idx`,
			false, "", "rename-table", []string{"rename-table", "rename-index"}},
		{"rename index alone", certs, `ALTER INDEX certificates_serial_idx RENAME TO certs_serial_idx`,
			false, "", "rename-table", []string{"rename-index"}},
		{"drop column with index", certs, `ALTER TABLE certificates DROP COLUMN serial`,
			false, "", "drop-column", []string{"drop-column", "drop-index"}},
		{"drop column with FK", certs, `ALTER TABLE certificates DROP COLUMN agent_id`,
			false, "", "drop-column", []string{"drop-column", "drop-constraint"}},
		{"drop referenced table", certs, `DROP TABLE agents CASCADE`,
			false, "", "drop-table", []string{"drop-constraint", "drop-table", "drop-sequence"}},
		{"widen varchar", certs, `ALTER TABLE certificates ALTER COLUMN serial TYPE varchar(255)`,
			false, "", "type-change", []string{"column-type"}},
		{"text to jsonb with check", certs + `ALTER TABLE certificates ADD CONSTRAINT notes_short CHECK (length(notes) < 100);`,
			`ALTER TABLE certificates DROP CONSTRAINT notes_short; ALTER TABLE certificates ALTER COLUMN notes TYPE jsonb USING to_jsonb(notes);
ALTER TABLE certificates ADD CONSTRAINT notes_short CHECK (length(notes::text) < 100)`,
			false, "", "type-change", []string{"column-type", "change-constraint"}},
		{"make a column an identity", certs + `CREATE TABLE ids (n int NOT NULL);`,
			`ALTER TABLE ids ALTER COLUMN n ADD GENERATED ALWAYS AS IDENTITY`,
			false, "", "type-change", []string{"column-identity", "add-sequence"}},
		{"set default", certs, `ALTER TABLE certificates ALTER COLUMN notes SET DEFAULT ''`,
			false, "", "type-change", []string{"set-default"}},
		{"backfill", certs + `INSERT INTO agents (hostname) VALUES ('a');`, `UPDATE agents SET hostname = 'b'`,
			true, "", "backfill", []string{}},
		{"nothing", certs, `SELECT 1`, false, "", "none", []string{}},
		{"add table and column", certs, `CREATE TABLE issuers (id bigserial PRIMARY KEY);
ALTER TABLE certificates ADD COLUMN issuer_id bigint REFERENCES issuers (id);
ALTER TABLE certificates ALTER COLUMN issuer_id SET NOT NULL;`,
			false, "", "mixed", []string{"add-column", "add-constraint", "add-table", "add-sequence"}},
		{"add column and backfill another", certs, `ALTER TABLE certificates ADD COLUMN x int`,
			true, "", "mixed", []string{"add-column"}},
		{"grant", certs, `GRANT SELECT ON agents TO schema_test_grantee`,
			false, "schema_test_grantee", "drop-constraint", []string{"acl-change"}},
		{"revoke", certs + `GRANT SELECT, INSERT ON agents TO schema_test_revokee;`,
			`REVOKE INSERT ON agents FROM schema_test_revokee`,
			false, "schema_test_revokee", "add-constraint", []string{"acl-change"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each case has its own database; creating them dominates
			if tc.role != "" {
				withRole(t, tc.role)
			}
			_, _, d := migrate(t, tc.setup, tc.up)
			assert.Equal(t, tc.kinds, kinds(d), "diff:\n%s", d)
			assert.Equal(t, tc.class, schema.Classify(d, tc.data), "diff:\n%s", d)
		})
	}
}

// withRole creates a cluster-wide role now and drops it after the test's
// databases are gone (cleanups run last-registered first).
func withRole(t *testing.T, role string) {
	t.Helper()
	admin := pgtest.AdminDSN(t)
	pgtest.Exec(t, admin, `DROP ROLE IF EXISTS `+role+`; CREATE ROLE `+role)
	t.Cleanup(func() { pgtest.Exec(t, admin, `DROP ROLE IF EXISTS `+role) })
}

func TestDiffDetails(t *testing.T) {
	t.Run("column type", func(t *testing.T) {
		_, _, d := migrate(t, certs, `ALTER TABLE certificates ALTER COLUMN serial TYPE varchar(255)`)
		require.Len(t, d.Changes, 1)
		c := d.Changes[0]
		assert.Equal(t, schema.Change{Kind: "column-type", Table: "public.certificates", Column: "serial",
			Before: "character varying(64)", After: "character varying(255)"}, c)
		assert.Equal(t, "~ column public.certificates.serial: type character varying(64) -> character varying(255)", d.String())
		assert.Equal(t, []string{"column-type public.certificates.serial character varying(64) -> character varying(255)"}, schema.Changes(d))
	})
	t.Run("rename is a rename", func(t *testing.T) {
		_, _, d := migrate(t, certs, `ALTER TABLE certificates RENAME COLUMN serial TO serial_number; ALTER TABLE agents RENAME TO hosts`)
		assert.Equal(t, []string{"rename-table public.agents -> public.hosts", "rename-column public.certificates.serial -> serial_number"},
			schema.Changes(d))
		assert.Equal(t, "~ table public.hosts: renamed from public.agents\n~ column public.certificates.serial_number: renamed from serial", d.String())
		assert.Equal(t, "mixed", schema.Classify(d, false))
	})
	t.Run("constraint", func(t *testing.T) {
		_, _, d := migrate(t, certs, `ALTER TABLE agents ADD CONSTRAINT agents_hostname_not_blank CHECK (btrim(hostname) <> '')`)
		c := find(d, "add-constraint")
		require.NotNil(t, c)
		assert.Equal(t, "c", c.ConstraintType)
		assert.Equal(t, "agents_hostname_not_blank", c.Object)
		assert.Equal(t, []string{"hostname"}, c.Columns)
		assert.Equal(t, "CHECK ((btrim((hostname)::text) <> ''::text))", c.After)
		assert.Equal(t, []string{"add-constraint public.agents.agents_hostname_not_blank"}, schema.Changes(d))
	})
	t.Run("constraint renamed and re-created under another OID", func(t *testing.T) {
		_, _, d := migrate(t, certs, `ALTER TABLE agents DROP CONSTRAINT agents_hostname_key; ALTER TABLE agents ADD CONSTRAINT agents_hostname_uniq UNIQUE (hostname)`)
		assert.Equal(t, []string{"rename-constraint"}, kinds(d), "matched by definition")
	})
	t.Run("enum value", func(t *testing.T) {
		_, _, d := migrate(t, `CREATE TYPE kind AS ENUM ('rsa', 'ec')`, `ALTER TYPE kind ADD VALUE 'ed25519'; ALTER TYPE kind ADD VALUE 'dsa' BEFORE 'rsa'`)
		assert.Equal(t, []schema.Change{
			{Kind: "add-enum-value", Table: "public.kind", Object: "public.kind", After: "dsa"},
			{Kind: "add-enum-value", Table: "public.kind", Object: "public.kind", After: "ed25519"},
		}, d.Changes)
	})
	t.Run("acl", func(t *testing.T) {
		withRole(t, "schema_test_acl")
		dsn := pgtest.NewDatabase(t)
		pgtest.Exec(t, dsn, certs)
		before := take(t, dsn, schema.Options{})
		pgtest.Exec(t, dsn, `GRANT SELECT ON certificates TO schema_test_acl`)
		after := take(t, dsn, schema.Options{})
		d := schema.Diff(before, after)
		require.Len(t, d.Changes, 1)
		c := d.Changes[0]
		assert.Equal(t, "acl-change", c.Kind)
		assert.Equal(t, "public.certificates", c.Table)
		assert.Equal(t, "", c.Before)
		assert.Contains(t, c.After, "schema_test_acl=r/")
		assert.False(t, d.OnlyColumnOrder())
	})
	t.Run("every object kind", func(t *testing.T) {
		_, _, d := migrate(t, `CREATE TABLE t (id int PRIMARY KEY, v text);
CREATE SEQUENCE s1; CREATE SEQUENCE s2;
CREATE DOMAIN d1 AS text; CREATE DOMAIN d2 AS int;
CREATE VIEW v1 AS SELECT id FROM t; CREATE VIEW v2 AS SELECT v FROM t;
CREATE FUNCTION f1() RETURNS int LANGUAGE sql AS 'SELECT 1'; CREATE FUNCTION f2() RETURNS int LANGUAGE sql AS 'SELECT 2';
CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER t1 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();
CREATE TRIGGER t2 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();
CREATE EXTENSION citext;`, `
CREATE SEQUENCE s3; ALTER SEQUENCE s1 INCREMENT 10; DROP SEQUENCE s2;
CREATE DOMAIN d3 AS text; ALTER DOMAIN d1 ADD CHECK (VALUE <> ''); DROP DOMAIN d2;
CREATE VIEW v3 AS SELECT 1 AS one; CREATE OR REPLACE VIEW v1 AS SELECT id, v FROM t; DROP VIEW v2;
CREATE FUNCTION f3() RETURNS int LANGUAGE sql AS 'SELECT 3'; CREATE OR REPLACE FUNCTION f1() RETURNS int LANGUAGE sql AS 'SELECT 10'; DROP FUNCTION f2();
CREATE TRIGGER t3 AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();
DROP TRIGGER t1 ON t; CREATE TRIGGER t1 BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION trg(); DROP TRIGGER t2 ON t;
DROP EXTENSION citext; CREATE EXTENSION hstore;`)
		got := map[string]string{}
		for _, c := range d.Changes {
			got[c.Kind+" "+c.Object] = c.Before + " => " + c.After
		}
		for _, want := range []string{
			"add-sequence public.s3", "change-sequence public.s1", "drop-sequence public.s2",
			"add-domain public.d3", "change-domain public.d1", "drop-domain public.d2",
			"add-view public.v3", "change-view public.v1", "drop-view public.v2",
			"add-function public.f3()", "change-function public.f1()", "drop-function public.f2()",
			"add-trigger t3", "change-trigger t1", "drop-trigger t2",
			"drop-extension citext", "add-extension hstore",
		} {
			assert.Contains(t, got, want, "diff:\n%s", d)
		}
		assert.Len(t, d.Changes, 17, "diff:\n%s", d)
		assert.Contains(t, got["change-sequence public.s1"], "increment 1 start 1")
		assert.Contains(t, got["change-sequence public.s1"], "increment 10 start 1")
		assert.Contains(t, got["change-domain public.d1"], "CHECK ((VALUE <> ''::text))")
		assert.Equal(t, "mixed", schema.Classify(d, false))
	})
}

func TestDiffAfterDown(t *testing.T) {
	t.Run("re-added column goes last: column order only", func(t *testing.T) {
		_, _, d := migrate(t, certs, `ALTER TABLE certificates DROP COLUMN owner_email; ALTER TABLE certificates ADD COLUMN owner_email text NOT NULL DEFAULT ''; ALTER TABLE certificates ALTER COLUMN owner_email DROP DEFAULT`)
		assert.Equal(t, []string{"column-order"}, kinds(d))
		assert.True(t, d.OnlyColumnOrder())
		assert.Equal(t, "~ table public.certificates: column order (id, serial, owner_email, agent_id, status, notes) -> (id, serial, agent_id, status, notes, owner_email)", d.String())
		assert.Equal(t, "none", schema.Classify(d, false))
	})
	t.Run("last column re-added: no difference", func(t *testing.T) {
		_, _, d := migrate(t, certs, `ALTER TABLE certificates DROP COLUMN notes; ALTER TABLE certificates ADD COLUMN notes text`)
		assert.True(t, d.Empty(), "diff:\n%s", d)
		assert.False(t, d.OnlyColumnOrder())
	})
	t.Run("index forgotten when the column is re-added", func(t *testing.T) {
		_, _, d := migrate(t, certs, `ALTER TABLE certificates DROP COLUMN serial; ALTER TABLE certificates ADD COLUMN serial varchar(64) NOT NULL DEFAULT ''; ALTER TABLE certificates ALTER COLUMN serial DROP DEFAULT`)
		assert.Equal(t, []string{"column-order", "drop-index"}, kinds(d))
		assert.False(t, d.OnlyColumnOrder())
		assert.Equal(t, "certificates_serial_idx", find(d, "drop-index").Object)
	})
	t.Run("table re-created: matched by name", func(t *testing.T) {
		before, after, d := migrate(t, certs, `DROP TABLE certificates; `+certs[strings.Index(certs, "CREATE TABLE certificates"):])
		assert.NotEqual(t, before.Tables["public.certificates"].OID, after.Tables["public.certificates"].OID)
		assert.True(t, d.Empty(), "diff:\n%s", d)
	})
	t.Run("clone of a clone keeps OIDs", func(t *testing.T) {
		dsn := pgtest.NewDatabase(t)
		pgtest.Exec(t, dsn, certs)
		before := take(t, dsn, schema.Options{})
		u, err := url.Parse(dsn)
		require.NoError(t, err)
		clone := pgtest.CloneDatabase(t, strings.TrimPrefix(u.Path, "/"))
		// The down of a rename applied on the clone: same OIDs, so still a rename.
		pgtest.Exec(t, clone, `ALTER TABLE certificates RENAME COLUMN serial TO sn; ALTER TABLE certificates ADD COLUMN serial int`)
		after := take(t, clone, schema.Options{})
		assert.Equal(t, before.Tables["public.certificates"].OID, after.Tables["public.certificates"].OID)
		d := schema.Diff(before, after)
		assert.Equal(t, []string{"rename-column sn", "add-column serial"},
			[]string{d.Changes[0].Kind + " " + d.Changes[0].Column, d.Changes[1].Kind + " " + d.Changes[1].Column}, "diff:\n%s", d)
	})
}

func TestRewrites(t *testing.T) {
	const setup = `CREATE TABLE big (id int4 PRIMARY KEY, v text); INSERT INTO big SELECT g, 'x' FROM generate_series(1, 5000) g;
CREATE TABLE other (id int4 PRIMARY KEY); INSERT INTO other VALUES (1);`
	t.Run("int4 to int8 rewrites", func(t *testing.T) {
		before, after, d := migrate(t, setup, `ALTER TABLE big ALTER COLUMN id TYPE int8`)
		assert.Equal(t, []schema.Rewrite{{Table: "public.big", Rows: 5000}}, schema.Rewrites(before, after))
		assert.Equal(t, "type-change", schema.Classify(d, false))
	})
	t.Run("add column with a constant default does not", func(t *testing.T) {
		before, after, _ := migrate(t, setup, `ALTER TABLE big ADD COLUMN state text NOT NULL DEFAULT 'pending'`)
		assert.Empty(t, schema.Rewrites(before, after))
	})
	t.Run("add column with a volatile default does", func(t *testing.T) {
		before, after, _ := migrate(t, setup, `ALTER TABLE big ADD COLUMN at timestamptz DEFAULT clock_timestamp()`)
		assert.Equal(t, []schema.Rewrite{{Table: "public.big", Rows: 5000}}, schema.Rewrites(before, after))
	})
	t.Run("renamed and rewritten table is named as after", func(t *testing.T) {
		before, after, _ := migrate(t, setup, `ALTER TABLE other RENAME TO renamed; ALTER TABLE renamed ALTER COLUMN id TYPE int8`)
		assert.Equal(t, []schema.Rewrite{{Table: "public.renamed", Rows: 1}}, schema.Rewrites(before, after))
	})
}

func TestDiffNilAndClasses(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.Exec(t, dsn, certs)
	s := take(t, dsn, schema.Options{})
	d := schema.Diff(nil, s)
	assert.Equal(t, []string{"add-table", "add-table", "add-sequence", "add-sequence", "add-extension"}, kinds(d), "plpgsql is in every database")
	assert.Equal(t, "add-table", schema.Classify(d, false))
	assert.Equal(t, []string{"add-table"}, schema.Classes(d))
	d = schema.Diff(s, nil)
	assert.Equal(t, "drop-table", schema.Classify(d, false))
	assert.Equal(t, "none", schema.Classify(nil, false))
	assert.True(t, (*schema.Changeset)(nil).Empty())

	mixed := &schema.Changeset{Changes: []schema.Change{
		{Kind: "add-column", Table: "public.a", Column: "x"},
		{Kind: "drop-not-null", Table: "public.a", Column: "y"},
		{Kind: "rename-index", Table: "public.a", Object: "i2", Before: "i1", After: "i2"},
	}}
	assert.Equal(t, "mixed", schema.Classify(mixed, false))
	assert.Equal(t, []string{"add-column", "drop-constraint", "rename-table"}, schema.Classes(mixed))
}

func TestDiffIdentical(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.Exec(t, dsn, everyKind)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := pgtest.Connect(t, dsn)
	a, err := schema.Take(ctx, conn, schema.Options{})
	require.NoError(t, err)
	b, err := schema.Take(ctx, conn, schema.Options{})
	require.NoError(t, err)
	d := schema.Diff(a, b)
	assert.True(t, d.Empty(), "diff:\n%s", d)
	assert.Equal(t, "none", schema.Classify(d, false))
	assert.Equal(t, "backfill", schema.Classify(d, true))
	assert.Equal(t, "", d.String())
	assert.Empty(t, schema.Changes(d))
}

func TestDiffPartitions(t *testing.T) {
	const events = `CREATE TABLE events (id bigint NOT NULL, day int NOT NULL) PARTITION BY RANGE (day);
CREATE TABLE events_a PARTITION OF events FOR VALUES FROM (0) TO (50);
CREATE TABLE events_b PARTITION OF events FOR VALUES FROM (50) TO (100);`
	for _, tt := range []struct {
		name, sql, class string
		kinds            []string
		text             string
	}{
		{"detached", `ALTER TABLE events DETACH PARTITION events_b`, "storage", []string{"table-partition"},
			"~ table public.events_b: partition of public.events FOR VALUES FROM (50) TO (100) -> no partition"},
		{"attached again with other bounds", `ALTER TABLE events DETACH PARTITION events_b; ALTER TABLE events ATTACH PARTITION events_b FOR VALUES FROM (50) TO (200)`,
			"storage", []string{"table-partition"},
			"~ table public.events_b: partition of public.events FOR VALUES FROM (50) TO (100) -> partition of public.events FOR VALUES FROM (50) TO (200)"},
		{"parent renamed: a rename only", `ALTER TABLE events RENAME TO events_old`, "rename-table", []string{"rename-table"},
			"~ table public.events_old: renamed from public.events"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, d := migrate(t, events, tt.sql)
			assert.Equal(t, tt.kinds, kinds(d))
			assert.Equal(t, tt.text, d.String())
			assert.Equal(t, tt.class, schema.Classify(d, false))
		})
	}
}
