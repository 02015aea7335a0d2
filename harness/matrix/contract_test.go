package matrix_test

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/migrate"
)

// brokenProbes lists the probe names of a contract check's Detail, sorted.
func brokenProbes(c matrix.Check) []string {
	var out []string
	for _, l := range strings.Split(c.Detail, "\n") {
		if l == "" || strings.HasPrefix(l, " ") {
			continue
		}
		name, _, _ := strings.Cut(l, ": ")
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// TestContractProbes: with no input at all, the contract probes catch a
// column rename, an ON DELETE CASCADE -> RESTRICT switch, an append-only
// trigger and a new NOT NULL column without default, each at the migration
// that made it and with the catalog change behind it; the harmless
// migrations around them break nothing.
func TestContractProbes(t *testing.T) {
	set, err := migrate.LoadDir(filepath.Join("testdata", "contract"), migrate.Options{})
	require.NoError(t, err)
	rep := runMatrix(t, set, "000001", "000007", "", "")
	require.Len(t, rep.Results, 6)

	tests := []struct {
		migration string
		broken    []string
		change    string // in the Detail of every broken probe
	}{
		{"000002_index_agents_region", nil, ""},
		{"000003_rename_audit_events_action", []string{
			"INSERT public.audit_events (complete row)",
			"SELECT public.audit_events (all columns)",
			"UPDATE public.audit_events.action",
		}, "~ column public.audit_events.event_type: renamed from action"},
		{"000004_audit_events_agent_restrict", []string{
			"DELETE public.agents (row with dependents via audit_events_agent_id_fkey)",
		}, "audit_events_agent_id_fkey on public.audit_events"},
		{"000005_ledger_append_only", []string{
			"DELETE public.ledger (a row)",
			"UPDATE public.ledger.amount",
			"UPDATE public.ledger.id",
			"UPDATE public.ledger.note",
		}, "+ trigger ledger_append_only on public.ledger"},
		{"000006_tags_slug_not_null", []string{
			"INSERT public.tags (complete row)",
		}, "+ column public.tags.slug"},
		{"000007_agents_note", nil, ""},
	}
	byName := map[string]matrix.MigrationResult{}
	for _, res := range rep.Results {
		byName[res.Version+"_"+res.Name] = res
	}
	for _, tc := range tests {
		t.Run(tc.migration, func(t *testing.T) {
			res, ok := byName[tc.migration]
			require.True(t, ok)
			c := res.Checks.Contract
			if tc.broken == nil {
				assert.Equal(t, matrix.StatusOK, c.Status, "%s\n%s", c.Error, c.Detail)
				assert.NotContains(t, strings.Join(res.Reasons, "\n"), "contract")
				return
			}
			require.Equal(t, matrix.StatusFail, c.Status, describe(res))
			assert.Equal(t, tc.broken, brokenProbes(c), c.Detail)
			assert.Equal(t, len(tc.broken), strings.Count(c.Detail, "catalog change: "), c.Detail)
			assert.Equal(t, len(tc.broken), strings.Count(c.Detail, tc.change), c.Detail)
			assert.Contains(t, strings.Join(res.Reasons, "\n"), "contract: ")
			// contract is not evidence of the real kind: no safe from it.
			assert.NotEqual(t, matrix.VerdictSafe, res.Verdict)
		})
	}
	// Release N's own state passes every probe: nothing is reported once.
	for _, n := range rep.Notes {
		assert.NotContains(t, n, "already fails on release N")
	}
}

// TestContractSample: the sample's 1.0 -> 1.1 with no --old-queries reports
// contract per migration: the rename and the dropped table break release
// 1.0's capabilities, the additive migrations do not.
func TestContractSample(t *testing.T) {
	dir := filepath.Join("..", "..", "migrations")
	set, err := migrate.LoadDir(dir, migrate.Options{})
	require.NoError(t, err)
	releases := readReleases(t, dir)
	rep := runMatrix(t, set, releases["1.0"], releases["1.1"], "", "")
	want := map[string]matrix.Status{
		"000009_rename_audit_events_action": matrix.StatusFail,
		"000010_drop_agent_heartbeats":      matrix.StatusFail,
	}
	for _, res := range rep.Results {
		id := res.Version + "_" + res.Name
		w, ok := want[id]
		if !ok {
			w = matrix.StatusOK
		}
		assert.Equal(t, w, res.Checks.Contract.Status, "%s: %s\n%s", id, res.Checks.Contract.Error, res.Checks.Contract.Detail)
		assert.Equal(t, matrix.StatusSkip, res.Checks.OldCode.Status, id)
	}
}
