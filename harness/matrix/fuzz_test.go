package matrix_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rehearse-dev/rehearse/harness/matrix"
)

// FuzzParseProbes: any probes file gives probes named file:line with SQL,
// or an error naming the file; it never panics.
func FuzzParseProbes(f *testing.F) {
	seeds, _ := filepath.Glob("../../fixtures/queries/*.sql")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("-- c\nSELECT 1;\n\nSELECT 'a;\nb';\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		probes, err := matrix.ParseProbes("q.sql", b)
		if err != nil {
			if !strings.Contains(err.Error(), "q.sql") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, p := range probes {
			if !strings.HasPrefix(p.Name, "q.sql:") || strings.TrimSpace(p.SQL) == "" {
				t.Fatalf("probe %q: want a file:line name and SQL, got %q", p.Name, p.SQL)
			}
		}
	})
}
