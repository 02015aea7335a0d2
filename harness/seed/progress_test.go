package seed

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProgressLines: a load that outlasts ProgressEvery prints progress
// lines (tables done, rows, rows/s); a short one prints none.
func TestProgressLines(t *testing.T) {
	tests := []struct {
		name      string
		rows      int
		every     time.Duration
		wantLines bool
	}{
		{name: "long load", rows: 200000, every: 20 * time.Millisecond, wantLines: true},
		{name: "short load", rows: 20, every: time.Minute, wantLines: false},
	}
	line := regexp.MustCompile(`(?m)^seeding: \d+ of 2 tables done, \d+ rows written \(\d+ rows/s, \d+s\)$`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			dsn := schemaDB(t, `CREATE TABLE a (id bigserial PRIMARY KEY, name text NOT NULL, at timestamptz);
CREATE TABLE b (id bigserial PRIMARY KEY, a_id bigint REFERENCES a, note text)`)
			var out bytes.Buffer
			_, err := New(Options{Seed: 1, Rows: tc.rows, Logger: testLogger(), Progress: &out, ProgressEvery: tc.every}).Base(ctx, dsn, take(t, dsn), nil)
			require.NoError(t, err)
			if !tc.wantLines {
				assert.Empty(t, out.String())
				return
			}
			require.Regexp(t, line, out.String())
			// A line per tick while the load runs.
			all := line.FindAllString(out.String(), -1)
			assert.GreaterOrEqual(t, len(all), 2, "one line per ProgressEvery")
		})
	}
}
