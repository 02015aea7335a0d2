package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Bad fault flags exit 2 before anything is started, naming what is wrong.
func TestRunBadFaults(t *testing.T) {
	scenario := filepath.Join("..", "..", "scenarios", "sample-1.0-to-1.1.yaml")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown fault", []string{"--faults", "unplug"}, []string{`unknown fault "unplug"`, "kill-migration"}},
		{"bad point", []string{"--faults", "kill-migration", "--at", "midway"}, []string{`fault point "midway"`, "up:VERSION:K"}},
		{"version not in N+1", []string{"--faults", "kill-migration", "--at", "up:000099:1"}, []string{"no migration 000099 among release N+1's", "000004"}},
		{"K beyond the file", []string{"--faults", "kill-migration@up:000004:7"}, []string{"000004_add_certificates_renewal_state.up.sql has 1 statements, K must be 0..1"}},
		{"fault at a point it does not take", []string{"--faults", "crash-loop@restore"}, []string{"cannot be injected at restore"}},
		{"kill-hook at a statement no lock can hold", []string{"--faults", "kill-hook@up:000005:0"}, []string{"fault kill-hook at up:000005:0: statement 1 of", "000005_create_renewal_policies.up.sql (line", "names no table", "kill-migration"}},
		{"kill-hook at K = n", []string{"--faults", "kill-hook@up:000009:1"}, []string{"kill-hook holds statement K+1, so K must be 0..0"}},
		{"kill-postgres-pod in full-restore's backup", []string{"--faults", "kill-postgres-pod@backup:full-restore"}, []string{"full-restore takes no backup of its own"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"run", "-f", scenario, "--no-matrix", "--out", t.TempDir()}, tt.args...)
			text, code := runRoot(t, args...)
			assert.Equal(t, 2, code, text)
			for _, w := range tt.want {
				assert.Contains(t, text, w)
			}
		})
	}
}
