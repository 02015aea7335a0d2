package rehearsal

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/scenario"
)

// TestDataFromReachesTheMatrix: spec.data.from (a path relative to the
// scenario, or a DSN as written), allowDrift and sample reach the matrix;
// --data-from and --allow-drift override them.
func TestDataFromReachesTheMatrix(t *testing.T) {
	tests := []struct {
		name  string
		data  scenario.Data
		o     RunOptions
		from  string
		drift bool
	}{
		{"dump relative to the scenario", scenario.Data{From: "prod.dump", Sample: 0.1}, RunOptions{}, filepath.Join("/scenarios", "prod.dump"), false},
		{"dsn as written", scenario.Data{From: "postgres://ro@db/prod", AllowDrift: true, Sample: 0.1}, RunOptions{}, "postgres://ro@db/prod", true},
		{"flags override", scenario.Data{From: "prod.dump", Sample: 0.1}, RunOptions{DataFrom: "/tmp/other.dump", AllowDrift: true}, "/tmp/other.dump", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &scenario.Scenario{Dir: "/scenarios", Spec: scenario.Spec{Data: tc.data}}
			m := matrixOptionsFor(s, tc.o)
			assert.Equal(t, tc.from, m.DataFrom)
			assert.Equal(t, tc.drift, m.AllowDrift)
			assert.Equal(t, 0.1, m.Sample)
		})
	}
}

// --sample and --allow-drift without --data-from are a mistake, said
// before anything starts.
func TestSampleWithoutDataFromRefused(t *testing.T) {
	_, err := RunMatrix(context.Background(), MatrixOptions{Migrations: "../../migrations", From: "000003", Out: t.TempDir(), Sample: 0.5})
	var ie *InputError
	require.ErrorAs(t, err, &ie)
	assert.ErrorContains(t, err, "--sample and --allow-drift go with --data-from")
}
