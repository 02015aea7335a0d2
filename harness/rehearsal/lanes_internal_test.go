package rehearsal

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLaneCount(t *testing.T) {
	for _, tc := range []struct {
		name              string
		forks             bool
		lanes, procedures int
		dataSource        bool
		want              int
	}{
		{"local and docker: one after another", false, 0, 4, false, 1},
		{"kind: default, one lane per procedure", true, 0, 3, false, 3},
		{"kind: default bound", true, 0, 9, false, DefaultProcedureLanes},
		{"--procedure-lanes 2", true, 2, 4, false, 2},
		{"--procedure-lanes 1: sequential", true, 1, 4, false, 1},
		{"one procedure", true, 0, 1, false, 1},
		{"a data source is read once", true, 4, 4, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, laneCount(tc.forks, tc.lanes, tc.procedures, tc.dataSource))
		})
	}
}
