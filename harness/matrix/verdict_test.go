package matrix_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rehearse-dev/rehearse/harness/matrix"
)

// TestVerdictContract: contract probes are not evidence of the real kind.
// They never make a migration safe, never keep one from being safe, and a
// contract failure is always among the reasons.
func TestVerdictContract(t *testing.T) {
	ok := matrix.Check{Status: matrix.StatusOK}
	fail := matrix.Check{Status: matrix.StatusFail, Error: "1 of 9 contract probes break: UPDATE public.t.c: ..."}
	skip := matrix.Check{Status: matrix.StatusSkip, Error: "no old-code probe"}
	checks := func(oldCode, contract matrix.Check) *matrix.Checks {
		return &matrix.Checks{Up: ok, OldCode: oldCode, Contract: contract, DownPristine: ok, SchemaRestored: ok,
			DownOnData: ok, NEraKept: ok, NextEraLoss: ok, RoundTrip: ok}
	}
	tests := []struct {
		name           string
		oldCode, contr matrix.Check
		want           matrix.Verdict
		contractReason bool
	}{
		{"contract passing without oldCode is not safe", skip, ok, matrix.VerdictRevertible, false},
		{"contract failing with oldCode passing stays safe, and says so", ok, fail, matrix.VerdictSafe, true},
		{"contract failing without oldCode", skip, fail, matrix.VerdictRevertible, true},
		{"both failing", fail, fail, matrix.VerdictRevertible, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, reasons := matrix.DecideVerdict(checks(tc.oldCode, tc.contr), true)
			assert.Equal(t, tc.want, v)
			assert.Equal(t, tc.contractReason, strings.Contains(strings.Join(reasons, "\n"), fail.Error), reasons)
		})
	}
}
