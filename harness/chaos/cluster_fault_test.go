package chaos

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/migrate"
)

// clusterMigrations are up files as the parser reads them: 000009 renames
// a column of an existing table; 000017 creates a table, fills it and
// then touches certificates; 000020 is an extension and a DO block only.
func clusterMigrations(t *testing.T) []*migrate.Migration {
	t.Helper()
	script := func(file, sql string) *migrate.Script {
		s, err := migrate.ParseScript(file, sql)
		require.NoError(t, err)
		return s
	}
	return []*migrate.Migration{
		{Version: "000009", Name: "rename", Up: script("000009.up.sql", "ALTER TABLE audit_events RENAME COLUMN action TO event_type;"),
			Down: script("000009.down.sql", "ALTER TABLE audit_events RENAME COLUMN event_type TO action;")},
		{Version: "000017", Name: "issuers", Up: script("000017.up.sql", `CREATE TABLE issuers (id bigserial PRIMARY KEY, name text);
INSERT INTO issuers (name) VALUES ('x');
ALTER TABLE certificates ADD COLUMN issuer_id bigint REFERENCES issuers (id);
UPDATE certificates SET issuer_id = 1;`)},
		{Version: "000020", Name: "ext", Up: script("000020.up.sql", "CREATE EXTENSION IF NOT EXISTS pgcrypto;\nDO $$ BEGIN PERFORM 1; END $$;")},
	}
}

func TestHookLockTable(t *testing.T) {
	ms := clusterMigrations(t)
	cases := []struct {
		m     *migrate.Migration
		k     int
		table string
		err   string
	}{
		{m: ms[0], k: 0, table: "public.audit_events"},
		{m: ms[0], k: 1, err: "000009.up.sql has 1 statements: kill-hook holds statement K+1, so K must be 0..0"},
		{m: ms[1], k: 0, err: "statement 1 of 000017.up.sql (line 1) names no table"}, // the table it creates does not count
		{m: ms[1], k: 1, err: "statement 2 of 000017.up.sql (line 2) names only tables an earlier statement of the file creates or uses too (public.issuers)"},
		{m: ms[1], k: 2, table: "public.certificates"},
		{m: ms[1], k: 3, err: "names only tables an earlier statement"},
		{m: ms[2], k: 0, err: "statement 1 of 000020.up.sql (line 1) names no table"},
		{m: ms[2], k: 1, err: "statement 2 of 000020.up.sql (line 2) names no table"},
	}
	for _, tc := range cases {
		t.Run(tc.m.Version+":"+tc.table+tc.err, func(t *testing.T) {
			got, err := HookLockTable(tc.m, tc.k)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.table, got)
		})
	}
}

func TestPlanClusterFaults(t *testing.T) {
	ms := clusterMigrations(t)
	o := PlanOptions{Seed: 3, Next: ms, Procedures: []string{"standard", "schema-revert", "full-restore"}}
	at := func(s string) []Point {
		p, err := ParsePoint(s)
		require.NoError(t, err)
		return []Point{p}
	}
	cases := []struct {
		name string
		req  Request
		want []string
		err  string
	}{
		{name: "kill-hook at a point", req: Request{Fault: KillHook, At: at("up:000017:2")}, want: []string{"kill-hook@up:000017:2"}},
		{name: "kill-hook default: one lockable point per up file that has one", req: Request{Fault: KillHook}, want: []string{"kill-hook@up:000009:0", "kill-hook@up:000017:2"}},
		{name: "kill-hook K = n", req: Request{Fault: KillHook, At: at("up:000009:1")}, err: "fault kill-hook at up:000009:1: 000009.up.sql has 1 statements"},
		{name: "kill-hook no table", req: Request{Fault: KillHook, At: at("up:000020:0")}, err: "fault kill-hook at up:000020:0: statement 1 of 000020.up.sql (line 1) names no table"},
		{name: "kill-hook on a down", req: Request{Fault: KillHook, At: at("down:000009:0")}, err: "fault kill-hook cannot be injected at down:000009:0: it takes up points"},
		{name: "kill-hook unknown version", req: Request{Fault: KillHook, At: at("up:000099:0")}, err: "no migration 000099 among release N+1's"},
		{name: "kill-postgres-pod at restore", req: Request{Fault: KillPostgresPod, At: at("restore")}, want: []string{"kill-postgres-pod@restore"}},
		{name: "kill-postgres-pod in a down", req: Request{Fault: KillPostgresPod, At: at("down:000009:1")}, want: []string{"kill-postgres-pod@down:000009:1"}},
		{name: "kill-postgres-pod during schema-revert's backup", req: Request{Fault: KillPostgresPod, At: at("backup:schema-revert")}, want: []string{"kill-postgres-pod@backup:schema-revert"}},
		{name: "kill-postgres-pod default", req: Request{Fault: KillPostgresPod}, want: []string{"kill-postgres-pod@down:000009:1", "kill-postgres-pod@restore", "kill-postgres-pod@backup:schema-revert"}},
		{name: "kill-postgres-pod full-restore backup", req: Request{Fault: KillPostgresPod, At: at("backup:full-restore")}, err: "full-restore takes no backup of its own"},
		{name: "kill-postgres-pod in an up", req: Request{Fault: KillPostgresPod, At: at("up:000009:0")}, err: "it takes down, restore, backup points"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := Plan([]Request{tc.req}, o)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			var got []string
			for _, in := range plan {
				got = append(got, in.String())
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
