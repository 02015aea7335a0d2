package rehearsal

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rehearse-dev/rehearse/harness/migrate"
)

// TestIgnoredNote: the files the tool ignores are said once, grouped by
// reason; rehearse's own releases.yaml is not among them.
func TestIgnoredNote(t *testing.T) {
	tests := []struct {
		name    string
		ignored []string
		want    []string
	}{
		{"none", nil, nil},
		{"only releases.yaml", []string{"releases.yaml: not named NNN_name.up.sql / NNN_name.down.sql (golang-migrate ignores it)"}, nil},
		{
			"stray files",
			[]string{
				"README.md: not named NNN_name.up.sql / NNN_name.down.sql (golang-migrate ignores it)",
				"releases.yaml: not named NNN_name.up.sql / NNN_name.down.sql (golang-migrate ignores it)",
				"seed.sql: not named NNN_name.up.sql / NNN_name.down.sql (golang-migrate ignores it)",
			},
			[]string{"2 file(s) of db/migrations not run, as golang-migrate does not run them either. not named NNN_name.up.sql / NNN_name.down.sql (golang-migrate ignores it): README.md, seed.sql"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := &migrate.Set{Layout: migrate.LayoutGolangMigrate, Source: "db/migrations", Ignored: tc.ignored}
			assert.Equal(t, tc.want, ignoredNote(set))
			assert.Equal(t, tc.ignored, set.Ignored, "the set is left as it was")
		})
	}
}
