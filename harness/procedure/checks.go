package procedure

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rehearse-dev/rehearse/harness/era"
	"github.com/rehearse-dev/rehearse/harness/fingerprint"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/rehearse-dev/rehearse/internal/oneline"
)

// SmokeRequest is one request a working server must answer. ${unique} and
// ${NAME.FIELD} (a field of the JSON answer of an earlier request saved as
// NAME) are substituted in Path and Body.
type SmokeRequest struct {
	Name   string
	Method string
	Path   string
	Body   string
	// Expect is the wanted status; 0 means any 2xx.
	Expect int
	Save   string
}

// Baseline is what the checks compare with: release N's data before the
// upgrade, and the N+1-era rows of the post-upgrade state every procedure
// starts from.
type Baseline struct {
	// NEra fingerprints release N's data (N-era rows) before the upgrade.
	NEra fingerprint.Set
	// Upgraded is the schema after the upgrade and the N+1-era writes.
	Upgraded *schema.Snapshot
	// NextEra lists the N+1-era rows of the post-upgrade state by table.
	NextEra []EraTable
}

// EraTable is the N+1-era rows of one table, by key.
type EraTable struct {
	OID   uint32
	Table string
	Keys  map[string]bool
}

// Rows counts the N+1-era rows of the baseline.
func (b *Baseline) Rows() int64 {
	var n int64
	for _, t := range b.NextEra {
		n += int64(len(t.Keys))
	}
	return n
}

// TakeNEra fingerprints release N's data on dsn, leaving out the
// bookkeeping table (its rows change by design).
func (b *Baseline) TakeNEra(ctx context.Context, dsn, bookkeepingTable string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	snap, err := schema.Take(ctx, conn, schema.Options{})
	if err != nil {
		return fmt.Errorf("snapshot release N: %w", err)
	}
	var tables []string
	for name := range snap.Tables {
		if bookkeepingTable == "" || name != "public."+bookkeepingTable {
			tables = append(tables, name)
		}
	}
	sort.Strings(tables)
	if len(tables) == 0 {
		b.NEra = fingerprint.Set{}
		return nil
	}
	b.NEra, err = fingerprint.Take(ctx, conn, snap, fingerprint.NEraOnly, tables...)
	if err != nil {
		return fmt.Errorf("fingerprint N-era data: %w", err)
	}
	return nil
}

// TakeUpgraded records the post-upgrade schema and its N+1-era rows.
func (b *Baseline) TakeUpgraded(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	if b.Upgraded, err = schema.Take(ctx, conn, schema.Options{}); err != nil {
		return fmt.Errorf("snapshot after the upgrade: %w", err)
	}
	if err := era.Ensure(ctx, conn); err != nil {
		return err
	}
	rows, err := conn.Query(ctx, `SELECT rel, relname, array_to_string(key, E'\x1f') FROM `+era.RowsTable)
	if err != nil {
		return fmt.Errorf("read N+1-era rows: %w", err)
	}
	byRel := map[uint32]*EraTable{}
	for rows.Next() {
		var rel uint32
		var name, key string
		if err := rows.Scan(&rel, &name, &key); err != nil {
			return fmt.Errorf("read N+1-era rows: %w", err)
		}
		t := byRel[rel]
		if t == nil {
			t = &EraTable{OID: rel, Table: name, Keys: map[string]bool{}}
			byRel[rel] = t
		}
		t.Keys[key] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read N+1-era rows: %w", err)
	}
	b.NextEra = nil
	for _, t := range byRel {
		b.NextEra = append(b.NextEra, *t)
	}
	sort.Slice(b.NextEra, func(i, j int) bool { return b.NextEra[i].Table < b.NextEra[j].Table })
	return nil
}

// runChecks measures what the procedure left. Database checks run first:
// smoke requests write rows.
func runChecks(ctx context.Context, pc *Context, res *Result) error {
	add := func(c CheckResult) {
		res.Checks = append(res.Checks, c)
		fmt.Fprintf(pc.Progress, "  %s: check %s ... %s%s\n", res.Name, c.Name, c.Status, firstLineSuffix(c.Summary))
	}
	t0 := time.Now()
	h, err := pc.Env.ServerHealth(ctx, pc.Checks.Health)
	if err != nil {
		return err
	}
	ready := CheckResult{Name: CheckServerReady, Status: StatusOK, Seconds: time.Since(t0).Seconds()}
	if h.Ready {
		ready.Summary = fmt.Sprintf("release %s ready after %.1fs and stayed ready for %s", pc.From.Name, h.ReadySeconds, pc.Checks.Health.Grace)
	} else {
		ready.Status = StatusFail
		ready.Summary, ready.Detail = oneline.Shorten(h.Detail, 240), h.Detail
		if h.CrashLoop {
			ready.Summary = oneline.Shorten(fmt.Sprintf("crash loop (%d restarts): %s", h.Restarts, h.Detail), 240)
		}
	}
	add(ready)

	conn, err := Connect(ctx, pc)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	t1 := time.Now()
	after, err := schema.Take(ctx, conn, schema.Options{})
	if err != nil {
		return fmt.Errorf("snapshot after the procedure: %w", err)
	}
	add(bootCheck(pc, after, time.Since(t1)))

	t2 := time.Now()
	nEra, err := nEraCheck(ctx, conn, pc, after)
	if err != nil {
		return err
	}
	nEra.Seconds = time.Since(t2).Seconds()
	add(nEra)

	t3 := time.Now()
	lost, n, err := lossCheck(ctx, conn, pc.Baseline, after)
	if err != nil {
		return err
	}
	lost.Seconds = time.Since(t3).Seconds()
	res.WritesLost = n
	add(lost)

	t4 := time.Now()
	if h.Ready {
		smoke := smokeCheck(ctx, pc)
		smoke.Seconds = time.Since(t4).Seconds()
		add(smoke)
	} else {
		add(CheckResult{Name: CheckSmoke, Status: StatusSkip, Summary: "server not ready"})
	}

	logs, err := pc.Env.ServerLogs(ctx)
	if err != nil {
		return err
	}
	add(logCheck(logs))
	return nil
}

// Connect opens the environment's current database.
func Connect(ctx context.Context, pc *Context) (*pgx.Conn, error) {
	dsn, err := pc.Env.DSN(ctx)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect to the database: %w", err)
	}
	return conn, nil
}

// bootCheck reports what release N's own start-up did to the schema (a
// migrate-at-boot server re-applies its older files over the newer schema).
func bootCheck(pc *Context, after *schema.Snapshot, d time.Duration) CheckResult {
	c := CheckResult{Name: CheckBootSchema, Status: StatusOK, Seconds: d.Seconds()}
	if pc.bootBefore == nil {
		c.Status, c.Summary = StatusSkip, "no snapshot before N's boot"
		return c
	}
	diff := schema.Diff(pc.bootBefore, after)
	if diff.Empty() {
		c.Summary = "release " + pc.From.Name + "'s boot left the schema as it found it"
		return c
	}
	c.Status = StatusWarn
	c.Summary = fmt.Sprintf("release %s's boot changed the schema (%d changes): %s", pc.From.Name, len(diff.Changes), oneline.First(diff.String()))
	c.Detail = diff.String()
	return c
}

// Untouched measures whether the database on conn is still the
// post-upgrade state every procedure starts from: same schema, every N+1-era
// row present. It returns a one-line reason when not.
func Untouched(ctx context.Context, conn *pgx.Conn, b *Baseline) (bool, string, error) {
	after, err := schema.Take(ctx, conn, schema.Options{})
	if err != nil {
		return false, "", fmt.Errorf("snapshot the database: %w", err)
	}
	if d := schema.Diff(b.Upgraded, after); !d.Empty() {
		return false, "the schema differs from the post-upgrade state: " + oneline.First(d.String()), nil
	}
	lost, n, err := lossCheck(ctx, conn, b, after)
	if err != nil {
		return false, "", err
	}
	if n > 0 {
		return false, lost.Summary, nil
	}
	return true, "", nil
}

// NEraKept runs the nEraKept check on conn.
func NEraKept(ctx context.Context, conn *pgx.Conn, pc *Context) (CheckResult, error) {
	after, err := schema.Take(ctx, conn, schema.Options{})
	if err != nil {
		return CheckResult{}, fmt.Errorf("snapshot the database: %w", err)
	}
	return nEraCheck(ctx, conn, pc, after)
}

// nEraCheck compares release N's data with its fingerprint before the
// upgrade, over N's tables and columns only.
func nEraCheck(ctx context.Context, conn *pgx.Conn, pc *Context, after *schema.Snapshot) (CheckResult, error) {
	c := CheckResult{Name: CheckNEraKept, Status: StatusOK}
	base := pc.Baseline.NEra
	now, err := fingerprint.TakeLike(ctx, conn, after, fingerprint.NEraOnly, base)
	if err != nil {
		return c, fmt.Errorf("fingerprint N-era data after the procedure: %w", err)
	}
	diffs := fingerprint.Compare(base, now)
	if len(diffs) == 0 {
		var rows int64
		for _, t := range base {
			rows += t.Rows
		}
		c.Summary = fmt.Sprintf("%d tables, %d N-era rows equal to before the upgrade", len(base), rows)
		return c, nil
	}
	lines := make([]string, len(diffs))
	for i, d := range diffs {
		lines[i] = d.String()
	}
	c.Status = StatusFail
	c.Summary = fmt.Sprintf("N-era data differs from before the upgrade: %s", lines[0])
	c.Detail = strings.Join(lines, "\n")
	return c, nil
}

// lossCheck counts the N+1-era rows of the baseline that are gone, finding
// each table by OID (a rename is not a loss), else by name (a restored
// table has a new OID), and lists the N+1 tables and columns dropped.
func lossCheck(ctx context.Context, conn *pgx.Conn, b *Baseline, after *schema.Snapshot) (CheckResult, int64, error) {
	c := CheckResult{Name: CheckNextEraLost, Status: StatusOK}
	byOID := map[uint32]*schema.Table{}
	for _, t := range after.Tables {
		byOID[t.OID] = t
	}
	var lines []string
	var lost, total int64
	for _, et := range b.NextEra {
		total += int64(len(et.Keys))
		t := byOID[et.OID]
		if t == nil {
			t = after.Tables[et.Table]
		}
		if t == nil {
			lost += int64(len(et.Keys))
			lines = append(lines, fmt.Sprintf("%s: table gone, %d N+1-era rows lost", et.Table, len(et.Keys)))
			continue
		}
		key := era.KeyExpr(t, "r")
		if key == "" {
			lost += int64(len(et.Keys))
			lines = append(lines, fmt.Sprintf("%s: no primary key any more, its %d N+1-era rows cannot be found (counted as lost)", t.QualifiedName(), len(et.Keys)))
			continue
		}
		found, err := presentKeys(ctx, conn, t, key, et.Keys)
		if err != nil {
			return c, 0, err
		}
		if gone := int64(len(et.Keys)) - found; gone > 0 {
			lost += gone
			lines = append(lines, fmt.Sprintf("%s: %d of %d N+1-era rows lost", t.QualifiedName(), gone, len(et.Keys)))
		}
	}
	if b.Upgraded != nil {
		for _, ch := range schema.Diff(b.Upgraded, after).Changes {
			if ch.Kind == schema.KindDropTable || ch.Kind == schema.KindDropColumn {
				lines = append(lines, "dropped since the upgrade: "+ch.String())
			}
		}
	}
	if len(lines) == 0 {
		c.Summary = fmt.Sprintf("all %d N+1-era rows kept", total)
		return c, 0, nil
	}
	c.Status = StatusWarn
	c.Summary = fmt.Sprintf("%d of %d N+1-era rows lost", lost, total)
	c.Detail = strings.Join(lines, "\n")
	return c, lost, nil
}

func presentKeys(ctx context.Context, conn *pgx.Conn, t *schema.Table, keyExpr string, keys map[string]bool) (int64, error) {
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT array_to_string(%s, E'\x1f') FROM %s r`, keyExpr, pgx.Identifier{t.Schema, t.Name}.Sanitize()))
	if err != nil {
		return 0, fmt.Errorf("read keys of %s: %w", t.QualifiedName(), err)
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return 0, fmt.Errorf("read keys of %s: %w", t.QualifiedName(), err)
		}
		if keys[k] {
			n++
		}
	}
	return n, rows.Err()
}

var placeholder = regexp.MustCompile(`\$\{([^}]+)\}`)

// smokeCheck sends the smoke requests in order; later requests may use
// fields of earlier answers.
func smokeCheck(ctx context.Context, pc *Context) CheckResult {
	return smokeRun(ctx, pc, nil)
}

// smokeRun is smokeCheck calling after (when set) once each request is
// answered, with the request's label.
func smokeRun(ctx context.Context, pc *Context, after func(label string)) CheckResult {
	c := CheckResult{Name: CheckSmoke, Status: StatusOK}
	if len(pc.Checks.Smoke) == 0 {
		c.Status, c.Summary = StatusSkip, "no smoke requests in the scenario"
		return c
	}
	base, err := pc.Env.ServerURL(ctx)
	if err != nil {
		c.Status, c.Summary = StatusFail, err.Error()
		return c
	}
	saved := map[string]map[string]any{}
	subst := func(s string) string {
		return placeholder.ReplaceAllStringFunc(s, func(m string) string {
			ref := m[2 : len(m)-1]
			if ref == "unique" {
				return pc.Checks.Unique
			}
			name, field, _ := strings.Cut(ref, ".")
			if v, ok := saved[name][field]; ok {
				return fmt.Sprint(v)
			}
			return m
		})
	}
	client := &http.Client{Timeout: 15 * time.Second}
	var lines []string
	failed := 0
	for _, r := range pc.Checks.Smoke {
		label := r.Name
		if label == "" {
			label = r.Method + " " + r.Path
		}
		code, body, err := send(ctx, client, r.Method, base+subst(r.Path), subst(r.Body))
		ok := err == nil && (r.Expect == code || r.Expect == 0 && code >= 200 && code < 300)
		line := fmt.Sprintf("%s: %s %s -> %d", label, r.Method, r.Path, code)
		if err != nil {
			line = fmt.Sprintf("%s: %s %s -> %v", label, r.Method, r.Path, err)
		}
		if !ok {
			failed++
			if r.Expect != 0 {
				line += fmt.Sprintf(" (want %d)", r.Expect)
			}
			line += ": " + oneline.Shorten(body, 300)
			if c.Summary == "" {
				c.Summary = line
			}
		}
		lines = append(lines, line)
		if after != nil {
			after(label)
		}
		if ok && r.Save != "" {
			var obj map[string]any
			if json.Unmarshal([]byte(body), &obj) == nil {
				saved[r.Save] = obj
			}
		}
	}
	c.Detail = strings.Join(lines, "\n")
	if failed > 0 {
		c.Status = StatusFail
		c.Summary = fmt.Sprintf("%d of %d requests fail; first: %s", failed, len(pc.Checks.Smoke), c.Summary)
		return c
	}
	c.Summary = fmt.Sprintf("%d requests pass", len(pc.Checks.Smoke))
	return c
}

func send(ctx context.Context, client *http.Client, method, url, body string) (int, string, error) {
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

// schemaErrorRE matches the SQLSTATEs of a server running SQL its schema
// does not have: undefined column (42703) and undefined table (42P01).
var schemaErrorRE = regexp.MustCompile(`\b(42703|42P01)\b`)

// logCheck scans the rollout's logs for schema errors.
func logCheck(logs string) CheckResult {
	c := CheckResult{Name: CheckSchemaErrors, Status: StatusOK}
	var hits []string
	for _, l := range strings.Split(logs, "\n") {
		if schemaErrorRE.MatchString(l) {
			hits = append(hits, strings.TrimSpace(l))
		}
	}
	if len(hits) == 0 {
		c.Summary = "no SQLSTATE 42703/42P01 in the server's logs"
		return c
	}
	c.Status = StatusFail
	c.Summary = fmt.Sprintf("%d log lines with schema errors (SQLSTATE 42703/42P01); first: %s", len(hits), oneline.Shorten(hits[0], 300))
	if len(hits) > 20 {
		hits = append(hits[:20], fmt.Sprintf("... and %d more", len(hits)-20))
	}
	c.Detail = strings.Join(hits, "\n")
	return c
}
