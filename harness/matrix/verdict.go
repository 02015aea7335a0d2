package matrix

import (
	"fmt"
	"strings"
)

// DecideVerdict computes a migration's verdict from its measured checks, as
// DESIGN.md defines them. hasDown is false when the migration has no down
// script. It returns the verdict and the reasons behind it.
//
// contract probes are not the real kind of evidence (they say what release
// N's code could run, not what it runs), so they never make or unmake safe;
// a contract failure is added to the reasons of every verdict.
//
// An up that fails on data is broken, except a guard: the migration's own
// RAISE EXCEPTION (SQLSTATE P0001) refusing the seeded data while passing on
// an empty schema. That up check is a warning ("guard: ..."; a policy can
// block on it) and the verdict is decided by the checks that still ran:
// the pristine ones and oldCode on the re-seeded state.
//
// oldCode "ok" needs evidence: probes that pass on release N's own state.
// With none, oldCode is skipped (see probeHistory.judge) and never safe.
func DecideVerdict(c *Checks, hasDown bool) (Verdict, []string) {
	v, reasons := decide(c, hasDown)
	if c.Contract.Status == StatusFail {
		reasons = append(reasons, "contract: release N's code could break on the new schema: "+c.Contract.Error)
	}
	return v, reasons
}

func decide(c *Checks, hasDown bool) (Verdict, []string) {
	var reasons []string
	switch {
	case c.Up.Status == StatusFail:
		return VerdictBroken, []string{"up fails on N-era data: " + c.Up.Error}
	case c.Up.Status == StatusSkip:
		return VerdictNotReached, []string{c.Up.Error}
	case c.Up.Status == StatusWarn && strings.HasPrefix(c.Up.Error, "guard:"):
		// The migration's own guard refused the seeded data: not a broken
		// up, but its data checks could not run; the rest still decides.
		reasons = append(reasons, "up's "+c.Up.Error+" (a warning, not broken; its data checks did not run)")
	}
	if !hasDown {
		if c.OldCode.Status == StatusOK {
			return VerdictBroken, append(reasons, "no down file (old code still works on the new schema, so a standard rollback would do)")
		}
		return VerdictBroken, append(reasons, "no down file")
	}
	if c.OldCode.Status == StatusOK {
		reasons = append(reasons, "old code works on the new schema: a standard rollback is enough")
		if d := downDefects(c); len(d) > 0 {
			reasons = append(reasons, d...)
		}
		return VerdictSafe, reasons
	}
	if c.OldCode.Status == StatusFail {
		reasons = append(reasons, "old code breaks on the new schema")
	} else if c.OldCode.Error != NoOldCodeProbe {
		// Without any probe the run's notes say so once.
		reasons = append(reasons, "old code not probed: "+c.OldCode.Error)
	}
	if d := downDefects(c); len(d) > 0 {
		return VerdictRestoreOnly, append(reasons, d...)
	}
	if c.NextEraLoss.Status == StatusWarn || c.NextEraLoss.Status == StatusFail {
		return VerdictLossyRevert, append(reasons, "down loses N+1-era data: "+c.NextEraLoss.Error)
	}
	if c.DownOnData.Status == StatusSkip {
		return VerdictRevertible, append(reasons, "down works on the empty schema, schema restored (not measured on data: "+c.DownOnData.Error+")")
	}
	if c.NEraKept.Status == StatusWarn || c.DownOnData.Status == StatusWarn {
		// A WHERE that met no seeded row: say so instead of "data intact".
		for _, ch := range []Check{c.NEraKept, c.DownOnData} {
			if ch.Status == StatusWarn {
				reasons = append(reasons, ch.Error)
			}
		}
		return VerdictRevertible, append(reasons, "down works on data, schema restored")
	}
	return VerdictRevertible, append(reasons, "down works on data, schema restored, N-era data intact")
}

// downDefects lists what makes a down unusable on production data.
func downDefects(c *Checks) []string {
	var out []string
	add := func(name string, ch Check) {
		if ch.Status == StatusFail {
			out = append(out, fmt.Sprintf("%s: %s", name, ch.Error))
		}
	}
	add(CheckDownOnData, c.DownOnData)
	add(CheckSchemaRestored, c.SchemaRestored)
	add(CheckNEraKept, c.NEraKept)
	add(CheckDownPristine, c.DownPristine)
	add(CheckRoundTrip, c.RoundTrip)
	return out
}
