package contract_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/contract"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/schema"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// releaseN covers what synthesis must handle on real schemas: serial and
// identity keys, a UNIQUE text and a varchar(n) key without default, a
// generated column, a CASCADE and a NO ACTION foreign key, a table without
// key and an empty table.
const releaseN = `
CREATE TABLE agents (
    id bigserial PRIMARY KEY,
    hostname varchar(12) NOT NULL UNIQUE,
    region text CHECK (region IN ('eu', 'us'))
);
CREATE TABLE events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    action text NOT NULL,
    action_len int GENERATED ALWAYS AS (length(action)) STORED
);
CREATE TABLE certs (
    serial varchar(8) PRIMARY KEY,
    agent_id bigint REFERENCES agents (id),
    ext uuid UNIQUE
);
CREATE TABLE log (line text);
CREATE TABLE profiles (agent_id bigint PRIMARY KEY REFERENCES agents (id), bio text);
CREATE TABLE empty (id serial PRIMARY KEY);
INSERT INTO agents (hostname, region) SELECT 'host-' || i, CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END FROM generate_series(1, 5) i;
INSERT INTO events (agent_id, action) SELECT 1 + i % 2, repeat('x', i) FROM generate_series(1, 6) i;
INSERT INTO certs VALUES ('c-1', 2, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), ('c-2', 3, NULL), ('abcdefgh', NULL, NULL);
INSERT INTO log VALUES ('hello');
INSERT INTO profiles VALUES (3, 'three'), (4, NULL);
`

func setup(t *testing.T) (context.Context, *pgx.Conn, *schema.Snapshot) {
	t.Helper()
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	_, err := conn.Exec(ctx, releaseN)
	require.NoError(t, err)
	snap, err := schema.Take(ctx, conn, schema.Options{})
	require.NoError(t, err)
	return ctx, conn, snap
}

// TestSynthesize: the probes are the ones the catalog implies, all pass on
// release N itself, and what could not be made is said.
func TestSynthesize(t *testing.T) {
	ctx, conn, snap := setup(t)
	probes, notes, err := contract.Synthesize(ctx, conn, snap, nil)
	require.NoError(t, err)
	var names []string
	for _, p := range probes {
		names = append(names, p.Name)
		assert.NoError(t, contract.Run(ctx, conn, p), "%s fails on release N:\n%s", p.Name, p.SQL)
	}
	assert.Equal(t, []string{
		"SELECT public.agents (all columns)",
		"INSERT public.agents (complete row)",
		"UPDATE public.agents.id",
		"UPDATE public.agents.hostname",
		"UPDATE public.agents.region",
		"DELETE public.agents (row with dependents via events_agent_id_fkey)",
		"DELETE public.agents (row without dependents)",
		"SELECT public.certs (all columns)",
		"INSERT public.certs (complete row)",
		"UPDATE public.certs.serial",
		"UPDATE public.certs.agent_id",
		"UPDATE public.certs.ext",
		"DELETE public.certs (a row)",
		"SELECT public.empty (all columns)",
		"SELECT public.events (all columns)",
		"INSERT public.events (complete row)",
		"UPDATE public.events.agent_id",
		"UPDATE public.events.action",
		"DELETE public.events (a row)",
		"SELECT public.log (all columns)",
		"INSERT public.log (complete row)",
		"SELECT public.profiles (all columns)",
		"INSERT public.profiles (complete row)",
		"UPDATE public.profiles.agent_id",
		"UPDATE public.profiles.bio",
		"DELETE public.profiles (a row)",
	}, names)
	assert.Equal(t, []string{
		"public.empty: no N-era row: INSERT, UPDATE and DELETE probes not made",
		"public.log: no primary key or unique NOT NULL key to address a row: UPDATE and DELETE probes not made",
	}, notes)

	byName := map[string]contract.Probe{}
	for _, p := range probes {
		byName[p.Name] = p
	}
	// The row with dependents via the CASCADE key has none via certs' NO
	// ACTION key (agent 1: agent 2 has a cert), so N can delete it.
	assert.Contains(t, byName["DELETE public.agents (row with dependents via events_agent_id_fkey)"].SQL, `"id" = '1'`)
	assert.Equal(t, []string{"certs_agent_id_fkey", "profiles_agent_id_fkey"}, byName["DELETE public.agents (row without dependents)"].Rejecting)
	assert.Contains(t, byName["DELETE public.agents (row without dependents)"].SQL, `"id" = '5'`)
	// A 1:1 table's key is a foreign key: the new row takes a parent
	// without child, found when the probe runs.
	assert.Contains(t, byName["INSERT public.profiles (complete row)"].SQL, "NOT EXISTS")
	// An UPDATE writes another row's longest value where N accepts it.
	assert.Contains(t, byName["UPDATE public.events.action"].SQL, `'xxxxxx'`)
	// Keys without default get fresh values, within varchar(n).
	assert.NotContains(t, byName["INSERT public.certs (complete row)"].SQL, "'abcdefgh'")
	assert.NotContains(t, byName["INSERT public.events (complete row)"].SQL, `"action_len"`)
}

// TestRun: probes see what a committing client of release N would see.
func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		probe   string
		change  string
		wantErr string
	}{
		{"column renamed", "SELECT public.events (all columns)", "ALTER TABLE events RENAME COLUMN action TO kind", `column "action" does not exist`},
		{"row gone", "UPDATE public.events.action", "DELETE FROM events", contract.ErrNoRow.Error()},
		{"new NOT NULL without default", "INSERT public.agents (complete row)", "ALTER TABLE agents ADD COLUMN zone text NOT NULL DEFAULT 'z'; ALTER TABLE agents ALTER zone DROP DEFAULT", `null value in column "zone"`},
		{"CASCADE to RESTRICT", "DELETE public.agents (row with dependents via events_agent_id_fkey)",
			"ALTER TABLE events DROP CONSTRAINT events_agent_id_fkey, ADD CONSTRAINT events_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE RESTRICT", "violates foreign key constraint"},
		{"deferred check is checked", "DELETE public.agents (row with dependents via events_agent_id_fkey)",
			"ALTER TABLE events DROP CONSTRAINT events_agent_id_fkey, ADD CONSTRAINT events_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES agents (id) DEFERRABLE INITIALLY DEFERRED", "violates foreign key constraint"},
		{"narrowed type", "UPDATE public.events.action", "ALTER TABLE events DROP COLUMN action_len; DELETE FROM events WHERE length(action) > 3; ALTER TABLE events ALTER action TYPE varchar(3)", "value too long"},
		{"dependents written after N through a rejecting key", "DELETE public.agents (row without dependents)", "INSERT INTO certs VALUES ('c-9', 5, NULL)", ""},
		{"unchanged", "UPDATE public.agents.region", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, conn, snap := setup(t)
			probes, _, err := contract.Synthesize(ctx, conn, snap, nil)
			require.NoError(t, err)
			var p *contract.Probe
			for i := range probes {
				if probes[i].Name == tc.probe {
					p = &probes[i]
				}
			}
			require.NotNil(t, p, tc.probe)
			require.NoError(t, contract.Run(ctx, conn, *p), "passes before the change")
			if tc.change != "" {
				_, err = conn.Exec(ctx, tc.change)
				require.NoError(t, err)
			}
			err = contract.Run(ctx, conn, *p)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err, p.SQL)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

// TestExplain: a failing probe is tied to the change on its table (and
// column, for an UPDATE), and to none when nothing it touches changed.
func TestExplain(t *testing.T) {
	ctx, conn, before := setup(t)
	probes, _, err := contract.Synthesize(ctx, conn, before, nil)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `ALTER TABLE events RENAME COLUMN action TO kind;
ALTER TABLE events RENAME TO agent_events;
ALTER TABLE agent_events DROP CONSTRAINT events_agent_id_fkey, ADD CONSTRAINT events_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE RESTRICT;
CREATE FUNCTION no_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no'; END $$;
CREATE TRIGGER no_update BEFORE UPDATE ON certs FOR EACH ROW EXECUTE FUNCTION no_update();
ALTER TABLE certs RENAME COLUMN serial TO serial_no;
CREATE TABLE pins (id int, agent_id bigint NOT NULL REFERENCES agents (id));`)
	require.NoError(t, err)
	after, err := schema.Take(ctx, conn, schema.Options{})
	require.NoError(t, err)
	d := schema.Diff(before, after)
	byName := map[string]contract.Probe{}
	for _, p := range probes {
		byName[p.Name] = p
	}
	tests := []struct {
		probe string
		want  []string
		not   []string
	}{
		{"UPDATE public.events.action", []string{"renamed from action", "renamed from public.events"}, []string{"events_agent_id_fkey"}},
		{"UPDATE public.events.agent_id", []string{"renamed from public.events", "events_agent_id_fkey"}, []string{"renamed from action"}},
		{"DELETE public.agents (row with dependents via events_agent_id_fkey)", []string{"ON DELETE RESTRICT"}, []string{"renamed from action"}},
		{"UPDATE public.certs.ext", []string{"+ trigger no_update on public.certs", "add-function public.no_update()", "renamed from serial"}, nil},
		{"UPDATE public.events.action", nil, []string{"renamed from serial"}},
		{"SELECT public.agents (all columns)", []string{contract.NoCatalogChange}, nil},
		// A new table's foreign key blocks N's DELETE of a referenced row.
		{"DELETE public.agents (row without dependents)", []string{"public.pins"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.probe, func(t *testing.T) {
			p, ok := byName[tc.probe]
			require.True(t, ok)
			got := contract.Explain(p, before, after, d)
			for _, w := range tc.want {
				assert.Contains(t, got, w)
			}
			for _, n := range tc.not {
				assert.NotContains(t, got, n)
			}
		})
	}
}
