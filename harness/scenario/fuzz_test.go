package scenario_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rehearse-dev/rehearse/harness/scenario"
)

// FuzzParse: any scenario file is either accepted or refused with an error
// naming the file; it never panics.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../../scenarios/*.yaml")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("apiVersion: rehearse.dev/v1\nkind: Scenario\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := scenario.Parse("dir/s.yaml", b)
		if err != nil {
			if !strings.Contains(err.Error(), "dir/s.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if s == nil {
			t.Fatal("nil scenario without an error")
		}
	})
}
