package migrate

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/pgtest"
)

// TestGooseBlockErrorLine: a failing statement inside a goose
// StatementBegin/End block is reported at its own line of the file.
func TestGooseBlockErrorLine(t *testing.T) {
	tests := []struct {
		name string
		body string
		line int
	}{
		{
			name: "second statement of a block, error with a position",
			body: "-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE b (id int);\n\nINSERT INTO nowhere VALUES (1);\n-- +goose StatementEnd\n",
			line: 5,
		},
		{
			name: "statement inside a DO body",
			body: "-- +goose Up\n-- +goose StatementBegin\nDO $$\nBEGIN\n  CREATE TABLE c (id int);\n  INSERT INTO nowhere VALUES (1);\nEND\n$$;\n-- +goose StatementEnd\n",
			line: 6,
		},
		{
			name: "runtime error in a DO body, no position",
			body: "-- +goose Up\n-- +goose StatementBegin\nDO $$\nBEGIN\n  CREATE TABLE d (id int);\n  INSERT INTO d VALUES (NULL);\n  ALTER TABLE d ALTER COLUMN id SET NOT NULL;\nEND\n$$;\n-- +goose StatementEnd\n",
			line: 7,
		},
		{
			name: "later statement of a block fails without a position",
			body: "-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE e (id int);\nINSERT INTO e VALUES (NULL);\n\nALTER TABLE e ALTER COLUMN id SET NOT NULL;\n-- +goose StatementEnd\n",
			line: 6,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeDir(t, map[string]string{"00001_a.sql": tc.body})
			set, err := LoadDir(dir, Options{})
			require.NoError(t, err)
			conn := pgtest.Connect(t, pgtest.NewDatabase(t))
			err = Apply(testCtx(t), conn, set.Migrations[0].Up)
			var ae *ApplyError
			require.True(t, errors.As(err, &ae), "%v", err)
			assert.Equal(t, tc.line, ae.Line, "%v", err)
		})
	}
}
