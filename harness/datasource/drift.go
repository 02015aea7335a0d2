package datasource

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/rehearse-dev/rehearse/harness/pgadmin"
	"github.com/rehearse-dev/rehearse/harness/schema"
)

// Schema takes the source's catalog snapshot. A dump's schema is restored
// (schema only, without owners and grants) into a scratch database on
// adminDSN's server, snapshotted and dropped; a DSN is snapshotted inside
// a read-only transaction.
func (s *Source) Schema(ctx context.Context, adminDSN, binDir string) (*schema.Snapshot, error) {
	if s.Kind == KindDSN {
		conn, err := pgx.Connect(ctx, s.DSN)
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", s, err)
		}
		defer conn.Close(context.Background())
		tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return nil, fmt.Errorf("begin read-only transaction on %s: %w", s, err)
		}
		defer tx.Rollback(context.Background())
		snap, err := schema.Take(ctx, tx, schema.Options{})
		if err != nil {
			return nil, fmt.Errorf("snapshot the schema of %s: %w", s, err)
		}
		return snap, nil
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := pgadmin.Name("rehearse_drift", hex.EncodeToString(suffix))
	if err := pgadmin.Create(ctx, adminDSN, name, ""); err != nil {
		return nil, fmt.Errorf("create a scratch database for the dump's schema: %w", err)
	}
	defer pgadmin.Drop(context.Background(), adminDSN, name)
	dsn, err := pgadmin.WithDatabase(adminDSN, name)
	if err != nil {
		return nil, err
	}
	if err := s.restoreSchema(ctx, dsn, binDir); err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	snap, err := schema.Take(ctx, conn, schema.Options{})
	if err != nil {
		return nil, fmt.Errorf("snapshot the schema of %s: %w", s, err)
	}
	return snap, nil
}

func (s *Source) restoreSchema(ctx context.Context, dsn, binDir string) error {
	var stderr bytes.Buffer
	var cmd *exec.Cmd
	// The password goes in the environment, never on the command line.
	dsn, pwEnv := pgadmin.ForTool(dsn)
	if s.Kind == KindPlain {
		f, err := os.Open(s.Path)
		if err != nil {
			return err
		}
		defer f.Close()
		cmd = exec.CommandContext(ctx, filepath.Join(binDir, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn)
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(schemaOnly(f, pw)) }()
		cmd.Stdin = pr
	} else {
		cmd = exec.CommandContext(ctx, filepath.Join(binDir, "pg_restore"), "--schema-only", "--no-owner", "--no-acl", "--exit-on-error", "-d", dsn, s.Path)
	}
	cmd.Env = append(os.Environ(), pwEnv...)
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("restore the schema of %s into a scratch database: %w: %s", s, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

var ownerOrGrant = regexp.MustCompile(`^(ALTER [A-Z ]+ .* OWNER TO |GRANT |REVOKE |ALTER DEFAULT PRIVILEGES )`)

// schemaOnly copies a plain dump without its COPY data, owners and grants
// (production's roles need not exist here).
func schemaOnly(r io.Reader, w io.Writer) error {
	br := bufio.NewReaderSize(r, 1<<20)
	bw := bufio.NewWriter(w)
	inCopy := false
	for {
		line, err := br.ReadString('\n')
		switch {
		case inCopy:
			if line == "\\.\n" || line == "\\." {
				inCopy = false
			}
		case copyLine.MatchString(line):
			inCopy = true
		case setvalLine.MatchString(line), ownerOrGrant.MatchString(line):
		default:
			bw.WriteString(line)
		}
		if err == io.EOF {
			return bw.Flush()
		}
		if err != nil {
			return err
		}
	}
}

// Drift is the difference between release N's schema (what its migrations
// build) and the source's.
type Drift struct {
	Changes []schema.Change
}

// driftIgnored are differences that are not drift here: owners and grants
// (the dump is restored without them; privileges are rehearsed with
// --roles), and the tables the harness itself adds.
var driftIgnored = map[string]bool{schema.KindChangeOwner: true, schema.KindACLChange: true}

// CompareSchemas returns the drift from release (release N's snapshot) to
// source; tables in ignore ("schema.name": the migration tool's
// bookkeeping) are left out.
func CompareSchemas(release, source *schema.Snapshot, ignore []string) *Drift {
	skip := map[string]bool{}
	for _, t := range ignore {
		skip[t] = true
	}
	d := &Drift{}
	for _, c := range schema.Diff(release, source).Changes {
		if driftIgnored[c.Kind] || skip[c.Table] || skip[c.Owner] {
			continue
		}
		d.Changes = append(d.Changes, c)
	}
	return d
}

// Empty reports whether there is no drift.
func (d *Drift) Empty() bool { return d == nil || len(d.Changes) == 0 }

// Objects names every drifted object, one line each, sorted:
// "public.users: add-column nickname (in the source, not in release N)".
func (d *Drift) Objects() []string {
	var out []string
	for _, c := range d.Changes {
		out = append(out, describe(c))
	}
	sort.Strings(out)
	return out
}

func describe(c schema.Change) string {
	obj := c.Table
	if c.Column != "" {
		obj += "." + c.Column
	} else if c.Object != "" && c.Object != c.Table {
		obj += " " + c.Object
	}
	where := ""
	switch {
	case strings.HasPrefix(c.Kind, "add-"):
		where = " (in the source, not built by release N's migrations)"
	case strings.HasPrefix(c.Kind, "drop-"):
		where = " (built by release N's migrations, missing in the source)"
	default:
		if c.Before != "" || c.After != "" {
			where = fmt.Sprintf(" (release N: %s; source: %s)", orNone(c.Before), orNone(c.After))
		}
	}
	return obj + ": " + c.Kind + where
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Unreliable says, per drifted table, which checks the drift makes
// unreliable when the run goes on with --allow-drift.
func (d *Drift) Unreliable() []string {
	byTable := map[string][]string{}
	for _, c := range d.Changes {
		byTable[c.Table] = append(byTable[c.Table], c.Kind)
	}
	var out []string
	for t, kinds := range byTable {
		var checks []string
		for _, k := range uniq(kinds) {
			switch {
			case strings.Contains(k, "table") || strings.Contains(k, "column"),
				k == schema.KindSetNotNull, k == schema.KindDropNotNull:
				checks = append(checks, "rows loaded (columns or tables not matched were left out or defaulted), up and down on data, N-era and N+1-era fingerprints")
			case strings.Contains(k, "constraint"), strings.Contains(k, "index"):
				checks = append(checks, "constraint checks (ups that add and downs that restore constraints), since production's rows were written under other constraints")
			case strings.Contains(k, "trigger"), strings.Contains(k, "function"), strings.Contains(k, "view"):
				checks = append(checks, "old-code probes and downs that depend on it")
			default:
				checks = append(checks, "pristine schema checks touching it")
			}
		}
		out = append(out, fmt.Sprintf("drift on %s (%s): unreliable: %s", t, strings.Join(uniq(kinds), ", "), strings.Join(uniq(checks), "; ")))
	}
	sort.Strings(out)
	return out
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

// DriftError refuses a run on a drifted source.
type DriftError struct {
	Source string
	Drift  *Drift
}

func (e *DriftError) Error() string {
	return fmt.Sprintf("%s has drifted from release N's schema (%d difference(s)); fix production or the migrations, or pass --allow-drift to rehearse anyway:\n  %s",
		e.Source, len(e.Drift.Changes), strings.Join(e.Drift.Objects(), "\n  "))
}
