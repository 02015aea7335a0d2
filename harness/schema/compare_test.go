package schema_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/schema"
)

// TestStorageOptions: reloptions are snapshotted and compared, so a down
// that RESETs only part of what its up SET is caught.
func TestStorageOptions(t *testing.T) {
	const setup = `CREATE TABLE events (id bigserial PRIMARY KEY, payload text)`
	tests := []struct {
		name, up string
		kinds    []string
		class    string
		after    string
	}{
		{"set", `ALTER TABLE events SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01)`,
			[]string{"table-options"}, "storage", "autovacuum_vacuum_scale_factor=0.01,fillfactor=70"},
		{"down forgets one RESET", `ALTER TABLE events SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01);
ALTER TABLE events RESET (fillfactor)`, []string{"table-options"}, "storage", "autovacuum_vacuum_scale_factor=0.01"},
		{"set and reset", `ALTER TABLE events SET (fillfactor = 70); ALTER TABLE events RESET (fillfactor)`, []string{}, "none", ""},
		{"next to a column: incidental", `ALTER TABLE events SET (fillfactor = 70); ALTER TABLE events ADD COLUMN at timestamptz`,
			[]string{"add-column", "table-options"}, "add-column", "fillfactor=70"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, d := migrate(t, setup, tc.up)
			assert.Equal(t, tc.kinds, kinds(d), "diff:\n%s", d)
			assert.Equal(t, tc.class, schema.Classify(d, false), "diff:\n%s", d)
			if c := find(d, "table-options"); tc.after != "" {
				require.NotNil(t, c)
				assert.Equal(t, "", c.Before)
				assert.Equal(t, tc.after, c.After)
				assert.Contains(t, d.String(), "~ table public.events: storage options {} -> {"+tc.after+"}")
			}
		})
	}
}

// TestFunctionUnifiedDiff: a changed function shows the lines that differ,
// not both bodies.
func TestFunctionUnifiedDiff(t *testing.T) {
	body := func(limit string) string {
		return `CREATE OR REPLACE FUNCTION quota(n int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    -- one
    -- two
    -- three
    IF n > ` + limit + ` THEN
        RETURN ` + limit + `;
    END IF;
    -- four
    -- five
    -- six
    RETURN n;
END
$$`
	}
	_, _, d := migrate(t, body("10"), body("20"))
	require.Equal(t, []string{"change-function"}, kinds(d), "diff:\n%s", d)
	s := d.String()
	assert.True(t, strings.HasPrefix(s, "~ function public.quota(n integer):\n"), s)
	for _, want := range []string{"  --- before", "  +++ after", "  -    IF n > 10 THEN", "  +    IF n > 20 THEN", "  -        RETURN 10;", "  +        RETURN 20;"} {
		assert.Contains(t, s, want)
	}
	assert.NotContains(t, s, "-- one", "context beyond two lines is left out")
	assert.NotContains(t, s, "-- six", "context beyond two lines is left out")
	assert.Equal(t, 1, strings.Count(s, "END IF;"), "an unchanged line appears once, as context:\n%s", s)
}

// TestPrivilegeDelta names the role and the privileges an ACL change gave
// or took.
func TestPrivilegeDelta(t *testing.T) {
	tests := []struct {
		name, before, after, owner string
		want                       []string
	}{
		{"regrant", "app=ar/owner,owner=arwdDxtm/owner", "app=arwd/owner,owner=arwdDxtm/owner", "owner", []string{"app gains UPDATE, DELETE"}},
		{"revoke", "app=arwd/owner", "app=r/owner", "owner", []string{"app loses INSERT, UPDATE, DELETE"}},
		{"from default", "", "app=r/owner,owner=arwdDxt/owner", "owner", []string{"app gains SELECT"}},
		{"to default", "app=r/owner,owner=arwdDxt/owner", "", "owner", []string{"app loses SELECT"}},
		{"public", "", "=r/owner,owner=arwdDxt/owner", "owner", []string{"PUBLIC gains SELECT"}},
		{"grant option only", "app=r/owner", "app=r*/owner", "owner", nil},
		{"two grantors, one role", "app=r/a", "app=r/a,app=w/b", "owner", []string{"app gains UPDATE"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, schema.PrivilegeDelta(tc.before, tc.after, tc.owner))
		})
	}
}

// TestPrivilegesPerRole: a grant on a table or a sequence is a change
// naming the role and the privileges; so is a new owner.
func TestPrivilegesPerRole(t *testing.T) {
	withRole(t, "schema_test_app")
	withRole(t, "schema_test_owner")
	const setup = `CREATE TABLE ledger (id bigserial PRIMARY KEY, cents bigint);
GRANT SELECT, INSERT ON ledger TO schema_test_app; GRANT USAGE ON SEQUENCE ledger_id_seq TO schema_test_app`
	tests := []struct {
		name, up string
		want     []string // d.String() lines that must appear
		class    string
	}{
		{"regrant on the table", `GRANT SELECT, INSERT, UPDATE, DELETE ON ledger TO schema_test_app`,
			[]string{"~ table public.ledger: privileges {", ": schema_test_app gains UPDATE, DELETE"}, "drop-constraint"},
		{"grant on the sequence", `GRANT UPDATE ON SEQUENCE ledger_id_seq TO schema_test_app`,
			[]string{"~ sequence public.ledger_id_seq: privileges {", ": schema_test_app gains UPDATE"}, "drop-constraint"},
		{"revoke", `REVOKE INSERT ON ledger FROM schema_test_app`,
			[]string{": schema_test_app loses INSERT"}, "add-constraint"},
		{"new owner", `ALTER TABLE ledger OWNER TO schema_test_owner`,
			[]string{"~ table public.ledger: owner "}, "mixed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, d := migrate(t, setup, tc.up)
			s := d.String()
			for _, w := range tc.want {
				assert.Contains(t, s, w)
			}
			assert.Equal(t, tc.class, schema.Classify(d, false), "diff:\n%s", s)
		})
	}
}
