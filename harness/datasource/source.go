// Package datasource brings production data into a rehearsal, safely: it
// opens a real source (a pg_dump file or a read-only DSN), compares its
// schema with release N's (drift), masks personal columns while loading,
// samples with referential closure, and loads the result as release N's
// N-era data. It never writes to a DSN source.
//
// A dump's data is streamed out of pg_restore (or read from a plain file)
// as COPY text and written with COPY into the state database, so the load
// runs near pg_restore's own speed; masking rewrites fields in that stream,
// so a masked value never reaches a database the harness keeps.
package datasource

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Kind is what a source is.
type Kind string

const (
	KindCustom    Kind = "custom"    // pg_dump -Fc
	KindDirectory Kind = "directory" // pg_dump -Fd
	KindTar       Kind = "tar"       // pg_dump -Ft
	KindPlain     Kind = "plain"     // pg_dump (SQL script with COPY blocks)
	KindDSN       Kind = "dsn"       // a live database, only read
)

// Source is where real data comes from.
type Source struct {
	Kind Kind
	// Path is the dump file or folder; DSN the connection string.
	Path, DSN string
}

// String names the source without credentials.
func (s *Source) String() string {
	if s.Kind == KindDSN {
		return "dsn " + redactDSN(s.DSN)
	}
	return string(s.Kind) + " dump " + s.Path
}

// Open recognises spec: a postgres:// URL or key=value DSN, a pg_dump
// directory (holding toc.dat), or a file whose first bytes say custom
// (PGDMP), tar or plain SQL.
func Open(spec string) (*Source, error) {
	if spec == "" {
		return nil, fmt.Errorf("--data-from: empty source")
	}
	if strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://") ||
		(strings.Contains(spec, "=") && !fileExists(spec)) {
		return &Source{Kind: KindDSN, DSN: spec}, nil
	}
	fi, err := os.Stat(spec)
	if err != nil {
		return nil, fmt.Errorf("--data-from %s: %w (want a pg_dump file or folder, or a postgres:// DSN)", spec, err)
	}
	if fi.IsDir() {
		if !fileExists(filepath.Join(spec, "toc.dat")) {
			return nil, fmt.Errorf("--data-from %s: a folder without toc.dat is not a pg_dump directory dump (make one with pg_dump -Fd)", spec)
		}
		return &Source{Kind: KindDirectory, Path: spec}, nil
	}
	f, err := os.Open(spec)
	if err != nil {
		return nil, fmt.Errorf("--data-from: %w", err)
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := bufio.NewReader(f).Read(head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("PGDMP")):
		return &Source{Kind: KindCustom, Path: spec}, nil
	case n >= 262 && bytes.Equal(head[257:262], []byte("ustar")):
		return &Source{Kind: KindTar, Path: spec}, nil
	case bytes.Contains(head, []byte("PostgreSQL database dump")) || bytes.Contains(head, []byte("SET ")) ||
		bytes.Contains(head, []byte("CREATE ")) || bytes.Contains(head, []byte("COPY ")):
		return &Source{Kind: KindPlain, Path: spec}, nil
	}
	return nil, fmt.Errorf("--data-from %s: not a pg_dump output (custom, directory, tar or plain SQL); make one with pg_dump -Fc", spec)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// redactDSN hides a password in a URL or key=value DSN.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if c := strings.Index(rest[:at], ":"); c >= 0 {
				return dsn[:i+3] + rest[:c] + ":***" + rest[at:]
			}
		}
		return dsn
	}
	var out []string
	for _, f := range strings.Fields(dsn) {
		if strings.HasPrefix(f, "password=") {
			f = "password=***"
		}
		out = append(out, f)
	}
	return strings.Join(out, " ")
}
