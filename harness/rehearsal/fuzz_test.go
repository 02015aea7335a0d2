package rehearsal

import (
	"os"
	"strings"
	"testing"
)

// FuzzReleaseVersion: any releases.yaml resolves a name or refuses with an
// error naming the file; it never panics.
func FuzzReleaseVersion(f *testing.F) {
	b, err := os.ReadFile("../../migrations/" + ReleasesFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, "1.0")
	f.Add(b, "000004")
	f.Add([]byte("releases:\n  - {name: v1, last: \"3\"}\n"), "v1")
	f.Fuzz(func(t *testing.T, b []byte, v string) {
		_, err := releaseVersion("dir/releases.yaml", b, v)
		if err != nil && !strings.Contains(err.Error(), "dir/releases.yaml") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}
