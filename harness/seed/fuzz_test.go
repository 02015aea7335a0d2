package seed

import (
	"os"
	"strings"
	"testing"
)

// FuzzParseProfile: any profile is either accepted or refused with an error
// naming the file; it never panics.
func FuzzParseProfile(f *testing.F) {
	b, err := os.ReadFile("../../fixtures/data/example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("rows: 10\ntables:\n  t:\n    rows: 5\n    columns:\n      a: {values: [1, 2, null]}\n"))
	f.Add([]byte("generators:\n  - {match: email, regex: '[a-z]{3}@x\\.io'}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProfile("prof.yaml", b)
		if err != nil {
			if !strings.Contains(err.Error(), "prof.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if p == nil {
			t.Fatal("nil profile without an error")
		}
	})
}
