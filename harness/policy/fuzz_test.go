package policy

import (
	"os"
	"strings"
	"testing"
)

// FuzzParse: any policy file is either accepted or refused with an error
// naming the file; it never panics.
func FuzzParse(f *testing.F) {
	b, err := os.ReadFile("testdata/policy.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("apiVersion: rehearse.dev/v1\nkind: Policy\nwaivers:\n  - {migration: \"7\", check: downOnData, reason: r, expires: 2099-12-31}\n"))
	f.Add([]byte("checks: {downOnData: warn}\nverdicts: {broken: block}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse("p.yaml", b)
		if err != nil {
			if !strings.Contains(err.Error(), "p.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if p == nil {
			t.Fatal("nil policy without an error")
		}
	})
}
