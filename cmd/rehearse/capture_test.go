package main

import (
	"bytes"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
)

// Bad input to `rehearse capture` says what to pass; a real capture is
// tested in harness/capture against PostgreSQL with pg_stat_statements.
func TestCaptureCommandInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no dsn", []string{"capture"}, "--dsn is required"},
		{"unreachable", []string{"capture", "--dsn", "postgres://nobody@127.0.0.1:1/app?connect_timeout=2"}, "capture: connect to --dsn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := &cobra.Command{Use: "rehearse", SilenceErrors: true, SilenceUsage: true}
			root.AddCommand(newCaptureCmd())
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&out)
			root.SetArgs(tc.args)
			err := root.Execute()
			assert.ErrorContains(t, err, tc.want)
			assert.Equal(t, exitHarness, exitCodeOf(err))
		})
	}
}
