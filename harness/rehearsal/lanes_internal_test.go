package rehearsal

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rehearse-dev/rehearse/harness/procedure"
)

func TestLaneCount(t *testing.T) {
	for _, tc := range []struct {
		name              string
		forks             bool
		lanes, procedures int
		cores             int
		dataSource        bool
		want              int
	}{
		{"local and docker: one after another", false, 0, 4, 8, false, 1},
		{"kind on 2 cores: 2 lanes", true, 0, 4, 2, false, 2},
		{"kind on 1 core: still 2 lanes (they mostly wait)", true, 0, 4, 1, false, 2},
		{"kind on 16 cores: the default bound", true, 0, 9, 16, false, DefaultProcedureLanes},
		{"kind: at most one lane per procedure", true, 0, 3, 16, false, 3},
		{"--procedure-lanes 3", true, 3, 4, 2, false, 3},
		{"--procedure-lanes 1: one after another", true, 1, 4, 8, false, 1},
		{"one procedure", true, 0, 1, 8, false, 1},
		{"a data source is read once", true, 4, 4, 8, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, laneCount(tc.forks, tc.lanes, tc.procedures, tc.cores, tc.dataSource))
		})
	}
}

func TestSplitLanes(t *testing.T) {
	specs := []procedure.Spec{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}, {Name: "e"}}
	names := func(lanes [][]indexedSpec) [][]string {
		var out [][]string
		for _, l := range lanes {
			var n []string
			for _, ip := range l {
				assert.Equal(t, specs[ip.index].Name, ip.spec.Name, "index points back into the scenario's order")
				n = append(n, ip.spec.Name)
			}
			out = append(out, n)
		}
		return out
	}
	assert.Equal(t, [][]string{{"a", "c", "e"}, {"b", "d"}}, names(splitLanes(specs, 2)))
	assert.Equal(t, [][]string{{"a", "e"}, {"b"}, {"c"}, {"d"}}, names(splitLanes(specs, 4)))
	assert.Equal(t, [][]string{{"a", "b", "c", "d", "e"}}, names(splitLanes(specs, 1)))
}
