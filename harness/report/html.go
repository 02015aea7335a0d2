package report

import (
	"fmt"
	"html/template"
	"io"

	"github.com/rehearse-dev/rehearse/harness/chaos"
	"github.com/rehearse-dev/rehearse/harness/matrix"
)

// WriteHTML renders r as one self-contained HTML page: inline CSS and JS,
// no external URL, every value escaped by html/template.
func WriteHTML(w io.Writer, r *matrix.Report) error {
	return htmlTemplate.Execute(w, newHTMLView(r))
}

type htmlView struct {
	R          *matrix.Report
	CheckNames []string
	Rows       []htmlRow
	Blocking   []matrix.Finding
	Warnings   []matrix.Finding
	Empty      []matrix.TableSeed
	Legend     []htmlLegend
	Chaos      []htmlChaos
	// ChaosSummary counts chaos cells per verdict; ChaosReplay is a cell's
	// replay command worth trying first.
	ChaosSummary string
	ChaosReplay  string
	// DataSource is the --data-from line ("" without a source).
	DataSource string
}

type htmlChaos struct {
	C          *chaos.Cell
	Target     string
	Statements string
	Emoji      string
	// Open expands the cells a reader must look into.
	Open bool
}

type htmlLegend struct {
	Verdict matrix.Verdict
	Emoji   string
}

type htmlRow struct {
	ID    string
	M     *matrix.MigrationResult
	Emoji string
	Cells []htmlCell
}

type htmlCell struct {
	Name     string
	C        *matrix.Check
	Symbol   string
	Location string
	Seconds  string
}

func newHTMLView(r *matrix.Report) htmlView {
	v := htmlView{R: r, CheckNames: matrix.CheckNames, Empty: emptySeeding(r), DataSource: dataSourceLine(r.DataSource)}
	for _, verdict := range matrix.Verdicts {
		v.Legend = append(v.Legend, htmlLegend{verdict, verdictEmoji(verdict)})
	}
	for i := range r.Results {
		m := &r.Results[i]
		row := htmlRow{ID: migrationID(m), M: m, Emoji: verdictEmoji(m.Verdict)}
		for _, nc := range m.Checks.List() {
			row.Cells = append(row.Cells, htmlCell{
				Name:     nc.Name,
				C:        nc.Check,
				Symbol:   statusSymbol(nc.Check.Status),
				Location: location(nc.Check),
				Seconds:  fmt.Sprintf("%.2fs", nc.Check.Seconds),
			})
		}
		v.Rows = append(v.Rows, row)
	}
	for i := range r.Chaos {
		c := &r.Chaos[i]
		v.Chaos = append(v.Chaos, htmlChaos{C: c, Target: chaosTarget(c), Statements: chaosStatements(c), Emoji: chaosEmoji(c.Verdict), Open: chaosNeedsDetail(c)})
	}
	v.ChaosSummary, v.ChaosReplay = chaosSummary(r.Chaos), chaosReplayHint(r.Chaos)
	for _, f := range r.Findings {
		if f.Action == "block" {
			v.Blocking = append(v.Blocking, f)
		} else {
			v.Warnings = append(v.Warnings, f)
		}
	}
	return v
}

var htmlTemplate = template.Must(template.New("matrix.html").Funcs(template.FuncMap{
	"yesno": yesNo,
	"secs":  func(f float64) string { return fmt.Sprintf("%.1fs", f) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rehearse: {{.R.From}} → {{.R.To}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#1f2328;background:#fff}
h1{font-size:1.4rem;margin:0 0 .3rem} h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.meta{color:#59636e;margin-bottom:1rem} .meta b{color:#1f2328}
.gate-yes{color:#fff;background:#cf222e;padding:.1rem .4rem;border-radius:4px}
.gate-no{color:#fff;background:#1a7f37;padding:.1rem .4rem;border-radius:4px}
table.matrix{border-collapse:collapse;width:100%}
.matrix th,.matrix td{border:1px solid #d1d9e0;padding:.3rem .45rem;vertical-align:top;text-align:left}
.matrix th{background:#f6f8fa;position:sticky;top:0}
tr.v-safe td.verdict{background:#dafbe1} tr.v-revertible td.verdict{background:#ddf4ff}
tr.v-lossy-revert td.verdict{background:#fff8c5} tr.v-restore-only td.verdict{background:#ffe7d1}
tr.v-broken td.verdict{background:#ffebe9} tr.v-not-reached td.verdict{background:#eaeef2}
tr.v-broken td.mig{border-left:4px solid #cf222e} tr.v-restore-only td.mig{border-left:4px solid #bc4c00}
tr.v-lossy-revert td.mig{border-left:4px solid #9a6700} tr.v-safe td.mig,tr.v-revertible td.mig{border-left:4px solid #1a7f37}
td.s-ok{background:#f0fff4} td.s-fail{background:#ffebe9} td.s-warn{background:#fff8c5} td.s-skip{background:#f6f8fa;color:#59636e}
details summary{cursor:pointer;white-space:nowrap} details[open]{min-width:18rem}
pre{background:#f6f8fa;border:1px solid #d1d9e0;padding:.4rem;overflow:auto;max-height:24rem;white-space:pre-wrap;word-break:break-word}
.small{color:#59636e;font-size:12px} ul.findings li{margin:.2rem 0} .waiver{color:#59636e}
code{background:#f6f8fa;padding:0 .2rem;border-radius:3px}
button{font:inherit;margin-right:.4rem}
.legend span{margin-right:.8rem}
tr.cv-recovered td.verdict{background:#dafbe1} tr.cv-detected td.verdict{background:#ddf4ff}
tr.cv-manual td.verdict{background:#fff8c5} tr.cv-as-without-fault td.verdict{background:#ffe7d1}
tr.cv-unrecovered td.verdict{background:#ffebe9} tr.cv-data-lost td.verdict{background:#ffebe9}
tr.cv-not-reached td.verdict{background:#eaeef2} tr.cv-skipped td.verdict{background:#eaeef2} tr.cv-error td.verdict{background:#ffebe9}
tr.cv-unrecovered td.fault,tr.cv-data-lost td.fault{border-left:4px solid #cf222e} tr.cv-recovered td.fault{border-left:4px solid #1a7f37}
</style>
</head>
<body>
<h1>rehearse: <code>{{.R.From}}</code> → <code>{{.R.To}}</code></h1>
<div class="meta">
run <b>{{.R.RunID}}</b> · blocking <span class="gate-{{yesno .R.Blocking}}">{{yesno .R.Blocking}}</span>
· {{len .R.Results}} migrations · {{secs .R.Seconds}}
{{- if .R.PostgreSQL}} · PostgreSQL {{.R.PostgreSQL}}{{end}}
{{- if .R.Layout}} · layout {{.R.Layout}}{{end}}
{{- if .R.Bookkeeping}} · bookkeeping {{.R.Bookkeeping}}{{end}}
{{- if .R.MigrateAs}} · migrations run as {{.R.MigrateAs}}{{end}}
· seed {{.R.Seed}} · rows {{.R.Rows}}
{{- if not .R.StartedAt.IsZero}} · started {{.R.StartedAt.UTC.Format "2006-01-02 15:04:05Z"}}{{end}}
</div>
{{- if .DataSource}}
<div class="meta">{{.DataSource}}</div>
{{- end}}
<div class="legend small">{{range .Legend}}<span>{{.Emoji}} {{.Verdict}}</span>{{end}} · ✓ ok ✗ fail ⚠ warn – skip</div>
<p><button type="button" id="expand">Expand all</button><button type="button" id="collapse">Collapse all</button></p>
<table class="matrix">
<thead><tr><th>migration</th><th>class</th><th>verdict</th>{{range .CheckNames}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{- range .Rows}}
<tr class="v-{{.M.Verdict}}">
<td class="mig"><details><summary><code>{{.ID}}</code></summary>
{{- if .M.Comment}}<p>{{.M.Comment}}</p>{{end}}
{{- if .M.UpFile}}<div class="small">up: {{.M.UpFile}}</div>{{end}}
{{- if .M.DownFile}}<div class="small">down: {{.M.DownFile}}</div>{{end}}
{{- if .M.NoTransaction}}<div class="small">runs outside a transaction</div>{{end}}
{{- if .M.Changes}}<ul>{{range .M.Changes}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{- if .M.Rewrites}}<div>rewrites: {{range .M.Rewrites}}<code>{{.Table}}</code> ({{.Rows}} rows) {{end}}</div>{{end}}
</details></td>
<td>{{.M.Class}}</td>
<td class="verdict">{{.Emoji}} {{.M.Verdict}}{{if .M.Reasons}}<ul class="small">{{range .M.Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}</td>
{{- range .Cells}}
<td class="s-{{.C.Status}}"><details><summary title="{{.Name}}: {{.C.Status}}">{{.Symbol}} {{.C.Status}}</summary>
{{- if .C.Error}}<div><b>{{if eq .C.Status "skip"}}skipped{{else}}error{{end}}:</b> {{.C.Error}}</div>{{end}}
{{- if .C.SQLState}}<div><b>sqlstate:</b> <code>{{.C.SQLState}}</code></div>{{end}}
{{- if .Location}}<div><b>at:</b> <code>{{.Location}}</code></div>{{end}}
{{- range .C.Notes}}<div class="small">note: {{.}}</div>{{end}}
{{- if .C.Detail}}<pre>{{.C.Detail}}</pre>{{end}}
<div class="small">{{.Seconds}}</div>
</details></td>
{{- end}}
</tr>
{{- end}}
</tbody>
</table>
<h2>Blocking findings</h2>
{{- if .Blocking}}
<ul class="findings">{{range .Blocking}}<li>⛔ <code>{{.Migration}}</code>: {{.Reason}}{{if .Waiver}} <span class="waiver">(waiver: {{.Waiver}})</span>{{end}}</li>{{end}}</ul>
{{- else}}
<p>None.</p>
{{- end}}
{{- if .Warnings}}
<h2>Warnings</h2>
<ul class="findings">{{range .Warnings}}<li>⚠ <code>{{.Migration}}</code>: {{.Reason}}{{if .Waiver}} <span class="waiver">(waiver: {{.Waiver}})</span>{{end}}</li>{{end}}</ul>
{{- end}}
{{- if .R.Procedures}}
<h2>Rollback procedures</h2>
<table><thead><tr><th>procedure</th><th>verdict</th><th>N+1-era writes lost</th><th>seconds</th><th>steps and checks</th></tr></thead><tbody>
{{- range .R.Procedures}}
<tr><td><code>{{.Name}}</code></td><td>{{.Verdict}}{{if .Reasons}}<ul class="small">{{range .Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}</td><td>{{.WritesLost}}</td><td>{{printf "%.1f" .Seconds}}</td>
<td><details><summary>{{len .Steps}} steps, {{len .Checks}} checks</summary><ol>{{range .Steps}}<li><code>{{.Name}}</code> {{.Status}} at {{printf "%.1f" .At}}s ({{printf "%.2f" .Seconds}}s){{if .Error}}: {{.Error}}{{end}}{{if .Output}}<pre>{{.Output}}</pre>{{end}}</li>{{end}}</ol>
<ul>{{range .Checks}}<li><code>{{.Name}}</code> {{.Status}}{{if .Summary}}: {{.Summary}}{{end}}{{if .Detail}}<pre>{{.Detail}}</pre>{{end}}</li>{{end}}</ul></details></td></tr>
{{- end}}
</tbody></table>
{{- end}}
{{- if .Chaos}}
<h2 id="chaos">Chaos: faults and recovery</h2>
<p>{{len .Chaos}} cells: {{.ChaosSummary}}{{if .ChaosReplay}} · replay one cell: <code>{{.ChaosReplay}}</code>{{end}}</p>
<table class="matrix chaos"><thead><tr><th>fault</th><th>point</th><th>migration/procedure</th><th>state found</th><th>bookkeeping</th><th>recovered</th><th>N-era kept</th><th>verdict</th></tr></thead><tbody>
{{- range .Chaos}}
<tr class="cv-{{.C.Verdict}}">
<td class="fault"><code>{{.C.Fault}}</code></td><td><code>{{.C.Point}}</code></td><td>{{.Target}}</td>
<td>{{.C.StateFound}}{{if .Statements}}<div class="small">{{.Statements}}</div>{{end}}{{if .C.HalfApplied}}<div><b>half-applied</b></div>{{end}}</td>
<td>{{.C.Bookkeeping}}</td><td>{{yesno .C.Recovered}}</td><td>{{yesno .C.NEraKept}}</td>
<td class="verdict"><details{{if .Open}} open{{end}}><summary>{{.Emoji}} {{.C.Verdict}}</summary>
{{- if .C.Recovery}}<div><b>recovery:</b> {{.C.Recovery}}</div>{{end}}
{{- if .C.Detail}}<pre>{{.C.Detail}}</pre>{{end}}
{{- if .C.Replay}}<div><b>replay:</b> <code>{{.C.Replay}}</code></div>{{end}}
<div class="small">{{printf "%.2f" .C.Seconds}}s</div>
</details></td>
</tr>
{{- end}}
</tbody></table>
{{- end}}
{{- if .R.Baseline}}
<h2>Release {{.R.From}} on its own state</h2>
<ul class="findings">{{range .R.Baseline}}<li>{{.Message}} <span class="small">({{.CheckName}}, state: {{.State}}{{if .SQL}}, <code>{{.SQL}}</code>{{end}})</span></li>{{end}}</ul>
{{- end}}
{{- if .R.Notes}}
<h2>Notes</h2>
<ul>{{range .R.Notes}}<li>{{.}}</li>{{end}}</ul>
{{- end}}
{{- if .Empty}}
<h2>Tables without data</h2>
<ul>{{range .Empty}}<li><code>{{.Table}}</code> (era {{.Era}}{{if .After}}, after {{.After}}{{end}}){{if .Error}}: {{.Error}}{{else}}: 0 rows{{end}}</li>{{end}}</ul>
{{- end}}
<p class="small">{{.R.Tool}} · schemaVersion {{.R.SchemaVersion}}{{if .R.Migrations}} · migrations {{.R.Migrations}}{{end}}</p>
<script>
(function(){
  function all(open){document.querySelectorAll("table.matrix details").forEach(function(d){d.open=open;});}
  document.getElementById("expand").addEventListener("click",function(){all(true);});
  document.getElementById("collapse").addEventListener("click",function(){all(false);});
})();
</script>
</body>
</html>
`))
