package procedure

// Verdicts of a procedure.
const (
	// VerdictRecovered: every step passed and release N's server works on
	// what the procedure left, with release N's data intact. N+1-era writes
	// lost are reported, not held against it (a full restore loses them by
	// design).
	VerdictRecovered = "recovered"
	// VerdictDegraded: N's server is up and stays up, but a smoke request
	// fails, its logs show schema errors, or N-era data changed.
	VerdictDegraded = "degraded"
	// VerdictFailed: a step failed, or N's server never became ready or
	// crash-looped.
	VerdictFailed = "failed"
)

// Statuses of steps and checks.
const (
	StatusOK   = "ok"
	StatusFail = "fail"
	StatusWarn = "warn"
	StatusSkip = "skip"
)

// Check names, in report order.
const (
	CheckServerReady  = "serverReady"
	CheckBootSchema   = "bootSchemaChange"
	CheckNEraKept     = "nEraKept"
	CheckNextEraLost  = "nextEraLost"
	CheckSmoke        = "smoke"
	CheckSchemaErrors = "schemaErrorsInLogs"
)

// Result is one procedure's run: its timeline, its checks and its verdict.
type Result struct {
	Name    string   `json:"name"`
	Verdict string   `json:"verdict"`
	Reasons []string `json:"reasons,omitempty"`
	// Description says what the procedure does, for reports.
	Description string        `json:"description,omitempty"`
	Steps       []StepResult  `json:"steps"`
	Checks      []CheckResult `json:"checks"`
	// WritesLost counts the N+1-era rows that did not survive.
	WritesLost int64   `json:"writesLost"`
	Seconds    float64 `json:"seconds"`
}

// StepResult is one timed step.
type StepResult struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	// At is when the step started, in seconds from the procedure's start.
	At      float64 `json:"at"`
	Seconds float64 `json:"seconds"`
	Output  string  `json:"output,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// CheckResult is one check after the steps.
type CheckResult struct {
	Name    string  `json:"name"`
	Status  string  `json:"status"`
	Summary string  `json:"summary,omitempty"`
	Detail  string  `json:"detail,omitempty"`
	Seconds float64 `json:"seconds"`
}

// Check returns the named check, or nil.
func (r *Result) Check(name string) *CheckResult {
	for i := range r.Checks {
		if r.Checks[i].Name == name {
			return &r.Checks[i]
		}
	}
	return nil
}

// FailedStep returns the first failed step, or nil.
func (r *Result) FailedStep() *StepResult {
	for i := range r.Steps {
		if r.Steps[i].Status == StatusFail {
			return &r.Steps[i]
		}
	}
	return nil
}
