package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/chaos"
	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/matrix"
)

const replayKill = "rehearse run -f scenarios/s.yaml --backend local --no-matrix --faults kill-migration --at up:000007:1 --seed 7"

// chaosReport is sampleReport with one chaos cell per verdict, the first
// one half-applied with HTML-special, fenced evidence.
func chaosReport() *matrix.Report {
	r := sampleReport()
	r.Chaos = []chaos.Cell{
		{Fault: chaos.KillMigration, Point: "up:000007:1", Migration: "000007_serial_not_null",
			StateFound: "statement 1 of 2 took effect; schema_migrations: version 7, dirty",
			Statements: 1, Effective: 1, Total: 2, HalfApplied: true,
			Bookkeeping: "golang-migrate: version 7, dirty",
			Recovery:    "re-ran the upgrade: Dirty database version 7. Fix and force version.\nthen gave up",
			NEraKept:    true, Verdict: chaos.VerdictUnrecovered, Detail: nastyDetail, Replay: replayKill, Seconds: 3.25},
		{Fault: chaos.KillPostgres, Point: "restore", Procedure: "full-restore", StateFound: "pg_restore cut short",
			Statements: -1, Effective: -1, Total: -1, Recovery: "re-ran full-restore: recovered",
			Recovered: true, NEraKept: true, Verdict: chaos.VerdictRecovered, Replay: "rehearse run --at restore", Seconds: 9},
		{Fault: chaos.BackupEmpty, Point: "backup:schema-revert", Procedure: "schema-revert", StateFound: "empty dump",
			Recovery: "pg_restore --list refused the backup", NEraKept: true, Verdict: chaos.VerdictDetected, Replay: "rehearse run --at backup:schema-revert"},
		{Fault: chaos.ReadyTimeout, Point: "upgrade", Verdict: chaos.VerdictSkipped,
			Detail: "the local backend has no readiness gate to miss\nsecond line", Replay: "rehearse run --at upgrade"},
		{Fault: chaos.CrashLoop, Point: "rollback:standard", Procedure: "standard", Verdict: chaos.VerdictNotReached,
			Recovery: "standard failed before its rollback step", Replay: "rehearse run --at rollback:standard"},
		{Fault: chaos.KillMigration, Point: "down:000006:0", Migration: "000006_drop_note", StateFound: "nothing took effect",
			Statements: 0, Effective: 0, Total: 1, Bookkeeping: "golang-migrate: version 6, dirty",
			Recovery: "recovered after `migrate force 5`", Recovered: true, NEraKept: true, Verdict: chaos.VerdictManual,
			Detail: "force needed", Replay: "rehearse run --at down:000006:0"},
		{Fault: chaos.KillPostgres, Point: "up:000005:1", Migration: "000005_add_index", StateFound: "index a | b half built",
			Statements: 1, Effective: 0, Total: 2, Recovery: "re-ran the upgrade: ok", Recovered: true,
			Verdict: chaos.VerdictDataLost, Detail: "certificates: 3 rows differ", Replay: "rehearse run --at up:000005:1"},
		{Fault: chaos.KillMigration, Point: "up:000007:0", Migration: "000007_x", Statements: 0, Effective: -1, Total: 1,
			Verdict: chaos.VerdictError, Detail: "the harness could not complete this cell: connection refused", Replay: "rehearse run --at up:000007:0"},
		{Fault: chaos.CrashLoop, Point: "rollback:schema-revert", Procedure: "schema-revert", StateFound: "server restarted",
			Recovery: "re-ran schema-revert: failed as without the fault", NEraKept: true, Verdict: chaos.VerdictAsWithoutFault,
			Replay: "rehearse run --at rollback:schema-revert"},
	}
	return r
}

func TestChaosMarkdown(t *testing.T) {
	tests := []struct {
		name   string
		report func() *matrix.Report
		want   []string
		absent []string
		rows   int // chaos table rows
		boxes  int // <details> blocks
	}{
		{name: "no chaos", report: sampleReport, absent: []string{"Chaos", "<details>"}},
		{name: "every verdict", report: chaosReport, rows: 9, boxes: 6,
			want: []string{
				"### Chaos: faults and recovery\n\n9 cells: 1 recovered, 1 detected, 1 manual, 1 as-without-fault, 1 unrecovered, 1 data-lost, 1 not-reached, 1 skipped, 1 error\n\n",
				"| fault | point | migration/procedure | state found | bookkeeping | recovered | N-era kept | verdict |\n",
				"| kill-migration | `up:000007:1` | 000007\\_serial\\_not\\_null | statement 1 of 2 took effect; schema\\_migrations: version 7, dirty | golang-migrate: version 7, dirty | no | yes | ❌ unrecovered |\n",
				"| kill-postgres | `restore` | full-restore | pg\\_restore cut short | – | yes | yes | ✅ recovered |\n",
				"| index a \\| b half built |",
				"Replay one cell: `" + replayKill + "`\n",
				"#### Can be left half-applied\n\n- `000007_serial_not_null` at `up:000007:1` (1 of 2 statements run, 1 took effect): bookkeeping claims golang-migrate: version 7, dirty\n\n",
				"<details><summary>❌ unrecovered: kill-migration @ up:000007:1</summary>\n\n",
				"- recovery: re-ran the upgrade: Dirty database version 7. Fix and force version. then gave up\n",
				"````\n" + nastyDetail + "\n````",
				"Replay:\n\n```sh\n" + replayKill + "\n```\n",
				"<summary>⏭️ skipped: ready-timeout @ upgrade</summary>",
				"<summary>⏸️ not-reached: crash-loop @ rollback:standard</summary>",
				"<summary>🔧 manual: kill-migration @ down:000006:0</summary>",
				"<summary>🔥 data-lost: kill-postgres @ up:000005:1</summary>",
			},
			absent: []string{"No fault left a migration half-applied.", "recovered: kill-postgres @ restore", "detected: backup-empty"},
		},
		{name: "nothing half-applied", rows: 1, boxes: 0,
			report: func() *matrix.Report {
				r := chaosReport()
				r.Chaos = r.Chaos[1:2]
				return r
			},
			want: []string{"No fault left a migration half-applied.", "Replay one cell: `rehearse run --at restore`"},
		},
		{name: "cluster evidence", rows: 1, boxes: 1,
			report: func() *matrix.Report {
				r := sampleReport()
				r.Chaos = []chaos.Cell{{Fault: chaos.RestartNode, Point: "upgrade",
					StateFound: "node n1 restarted (restart 3.8s, API answered after 16.3s, Ready after 16.4s)",
					Recovery:   "`helm rollback app 1` cleared it; re-running the upgrade recovered",
					Recovered:  true, NEraKept: true, Verdict: chaos.VerdictRecovered, Seconds: 49,
					Node: &env.NodeRestart{Nodes: []string{"n1"}, RestartSeconds: 3.8, APISeconds: 16.3, ReadySeconds: 16.4}}}
				return r
			},
			// A recovered cell gets its details when it holds cluster evidence.
			want: []string{
				"<summary>✅ recovered: restart-node @ upgrade</summary>",
				"- state found: node n1 restarted (restart 3.8s, API answered after 16.3s, Ready after 16.4s)\n",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, WriteMarkdown(&buf, tt.report()))
			md := buf.String()
			for _, w := range tt.want {
				assert.Contains(t, md, w)
			}
			for _, a := range tt.absent {
				assert.NotContains(t, md, a)
			}
			assert.Equal(t, tt.boxes, strings.Count(md, "<details>"))
			assert.Equal(t, tt.boxes, strings.Count(md, "</details>"))

			// Every chaos row has the header's column count (escaped pipes aside).
			var rows []string
			in := false
			for _, l := range strings.Split(md, "\n") {
				switch {
				case strings.HasPrefix(l, "| fault |"):
					in = true
				case in && !strings.HasPrefix(l, "|"):
					in = false
				case in && !strings.HasPrefix(l, "|---"):
					rows = append(rows, l)
				}
			}
			require.Len(t, rows, tt.rows)
			for _, row := range rows {
				assert.Equal(t, 9, strings.Count(row, "|")-strings.Count(row, `\|`), row)
			}
		})
	}
}

func TestChaosJUnit(t *testing.T) {
	doc := decodeJUnit(t, chaosReport())
	require.Len(t, doc.Suites, 2)
	s := doc.Suites[1]
	assert.Equal(t, "chaos", s.Name)
	assert.Equal(t, doc.Suites[0].Properties, s.Properties, "from, to, runId as in the matrix suite")
	assert.Equal(t, 9, s.Tests)
	assert.Equal(t, 3, s.Failures, "unrecovered, data-lost and error")
	assert.Equal(t, 2, s.Skipped, "skipped and not-reached")
	assert.Equal(t, "12.250", s.Time)
	assert.Equal(t, doc.Suites[0].Tests+9, doc.Tests)
	assert.Equal(t, doc.Suites[0].Failures+3, doc.Failures)
	assert.Equal(t, doc.Suites[0].Skipped+2, doc.Skipped)

	byName := map[string]junitCase{}
	for _, c := range s.Cases {
		byName[c.Name] = c
	}
	tests := []struct {
		name, class string
		failure     string // message; "" = none
		skipped     string // message; "" = none
		body        []string
		out         []string
	}{
		{name: "kill-migration @ up:000007:1", class: "chaos.kill-migration",
			failure: "unrecovered: re-ran the upgrade: Dirty database version 7. Fix and force version.",
			body:    []string{nastyDetail, "replay: " + replayKill, "half-applied: yes", "bookkeeping: golang-migrate: version 7, dirty"}},
		{name: "kill-postgres @ up:000005:1", class: "chaos.kill-postgres",
			failure: "data-lost: re-ran the upgrade: ok", body: []string{"certificates: 3 rows differ", "N-era data kept: no"}},
		{name: "ready-timeout @ upgrade", class: "chaos.ready-timeout",
			skipped: "skipped: the local backend has no readiness gate to miss"},
		{name: "crash-loop @ rollback:standard", class: "chaos.crash-loop",
			skipped: "not-reached: standard failed before its rollback step"},
		{name: "kill-postgres @ restore", class: "chaos.kill-postgres",
			out: []string{"state found: pg_restore cut short", "recovery: re-ran full-restore: recovered", "replay: rehearse run --at restore"}},
		{name: "kill-migration @ down:000006:0", class: "chaos.kill-migration",
			out: []string{"verdict: manual", "recovery: recovered after `migrate force 5`"}},
		{name: "backup-empty @ backup:schema-revert", class: "chaos.backup-empty",
			out: []string{"verdict: detected"}},
		{name: "crash-loop @ rollback:schema-revert", class: "chaos.crash-loop",
			out: []string{"verdict: as-without-fault", "recovery: re-ran schema-revert: failed as without the fault"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := byName[tt.name]
			require.True(t, ok, "testcase %q in %v", tt.name, byName)
			assert.Equal(t, tt.class, c.Classname)
			if tt.failure == "" {
				assert.Nil(t, c.Failure)
			} else {
				require.NotNil(t, c.Failure)
				assert.Equal(t, tt.failure, c.Failure.Message)
				for _, b := range tt.body {
					assert.Contains(t, c.Failure.Body, b)
				}
			}
			if tt.skipped == "" {
				assert.Nil(t, c.Skipped)
			} else {
				require.NotNil(t, c.Skipped)
				assert.Equal(t, tt.skipped, c.Skipped.Message)
			}
			for _, o := range tt.out {
				assert.Contains(t, c.SystemOut, o)
			}
		})
	}

	// Without chaos cells there is no chaos suite.
	for _, s := range decodeJUnit(t, sampleReport()).Suites {
		assert.NotEqual(t, "chaos", s.Name)
	}
}

func TestChaosHTML(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteHTML(&buf, chaosReport()))
	page := buf.String()

	assert.Contains(t, page, `<h2 id="chaos">Chaos: faults and recovery</h2>`)
	assert.Contains(t, page, "<th>fault</th><th>point</th><th>migration/procedure</th><th>state found</th><th>bookkeeping</th><th>recovered</th><th>N-era kept</th><th>verdict</th>")
	for _, v := range chaos.Verdicts {
		assert.Equal(t, 1, strings.Count(page, `<tr class="cv-`+v+`">`), v)
		assert.True(t, strings.Contains(page, "tr.cv-"+v+" td.verdict{background:"), "verdict %s is coloured", v)
	}
	assert.Contains(t, page, "replay one cell: <code>"+replayKill+"</code>")
	assert.Contains(t, page, "1 of 2 statements run, 1 took effect")
	assert.Equal(t, 1, strings.Count(page, "<b>half-applied</b>"))
	// The six cells to look into open by themselves.
	assert.Equal(t, 6, strings.Count(page, "<details open>"))
	assert.Equal(t, 6*(len(matrix.CheckNames)+1)+3, strings.Count(page, "<details>"))
	// Evidence stays escaped.
	assert.NotContains(t, page, `<script>alert`)
	assert.Equal(t, 2, strings.Count(page, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`), "the matrix cell and the chaos cell")

	buf.Reset()
	require.NoError(t, WriteHTML(&buf, sampleReport()))
	assert.NotContains(t, buf.String(), "Chaos: faults and recovery")
}

func TestChaosJSON(t *testing.T) {
	r := chaosReport()
	var buf bytes.Buffer
	require.NoError(t, WriteJSON(&buf, r))
	var back matrix.Report
	require.NoError(t, json.Unmarshal(buf.Bytes(), &back))
	assert.Equal(t, *r, back)

	var raw map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &raw))
	cells, ok := raw["chaos"].([]any)
	require.True(t, ok, "matrix.json has a chaos array")
	require.Len(t, cells, 9)
	first := cells[0].(map[string]any)
	for _, k := range []string{"fault", "point", "migration", "stateFound", "statements", "effective", "total", "halfApplied", "bookkeeping", "recovery", "recovered", "nEraKept", "verdict", "detail", "replay", "seconds"} {
		assert.Contains(t, first, k)
	}
	assert.Equal(t, true, first["halfApplied"])
	assert.Equal(t, chaos.VerdictUnrecovered, first["verdict"])

	buf.Reset()
	require.NoError(t, WriteJSON(&buf, sampleReport()))
	assert.NotContains(t, buf.String(), `"chaos"`)
}
