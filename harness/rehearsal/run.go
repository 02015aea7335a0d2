package rehearsal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/rehearse-dev/rehearse/harness/env/kind"
	"github.com/rehearse-dev/rehearse/harness/env/kube"
	"github.com/rehearse-dev/rehearse/harness/report"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/rehearse-dev/rehearse/harness/chaos"
	"github.com/rehearse-dev/rehearse/harness/datasource"
	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/env/docker"
	"github.com/rehearse-dev/rehearse/harness/env/local"
	"github.com/rehearse-dev/rehearse/harness/matrix"
	"github.com/rehearse-dev/rehearse/harness/outdir"
	"github.com/rehearse-dev/rehearse/harness/pgadmin"
	"github.com/rehearse-dev/rehearse/harness/procedure"
	"github.com/rehearse-dev/rehearse/harness/scenario"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

// RunOptions is everything `rehearse run` takes.
type RunOptions struct {
	Scenario string // path of the scenario file
	Backend  string // overrides spec.backend when set
	Out      string // report folder (default reports/<run id>)
	Keep     bool
	// NoMatrix skips the per-migration matrix (procedures only).
	NoMatrix bool
	Parallel int
	// ProcedureLanes is how many lanes the procedures are dealt over on
	// kind and kube, each a namespace of its own, rehearsed at once
	// (default: one per core, 2 to DefaultProcedureLanes; 1 = one after
	// another in the run's namespace).
	ProcedureLanes int
	PGBin          string
	PGUser         string
	// kind and kube backends.
	NodeImage string // kind node image (default: REHEARSE_KIND_NODE_IMAGE, else kind's own)
	// PostgresImage overrides spec.postgres.image (docker and kind;
	// default: docker.DefaultPostgresImage).
	PostgresImage  string
	ReuseCluster   string // kind: run in this cluster (created if missing) and keep it
	Kubeconfig     string // kube: the cluster (only this file is read)
	KubeContext    string
	Namespace      string // kube: default rehearse-<run id>, created and labelled
	NamespaceOwned bool   // kube: use Namespace although rehearse did not create it
	Logger         *slog.Logger
	Progress       io.Writer
	Now            func() time.Time
	// Chaos are the fault flags (override the scenario's faults:).
	Chaos ChaosOptions
	// Roles and MigrateAs override spec.roles and spec.migrateAs.
	Roles     string
	MigrateAs string
	// DataFrom and AllowDrift override spec.data.from and allowDrift.
	DataFrom   string
	AllowDrift bool
	// SearchPath overrides spec.searchPath.
	SearchPath string
}

// RunReport is what `rehearse run` measured. Until matrix.Report carries
// the procedures, they are written next to the matrix as procedures.json.
type RunReport struct {
	SchemaVersion int                `json:"schemaVersion"`
	Scenario      string             `json:"scenario"`
	Backend       string             `json:"backend"`
	From          string             `json:"from"`
	To            string             `json:"to"`
	Procedures    []procedure.Result `json:"procedures"`
	// Chaos are the fault-injection cells (faults: / --faults).
	Chaos []chaos.Cell `json:"chaos,omitempty"`
	// Capture is what was recorded of release N's SQL (its oldCode probes).
	Capture *CaptureSummary `json:"capture,omitempty"`
	// Notes are run-level remarks, e.g. release N+1's server not ready.
	Notes []string `json:"notes,omitempty"`
	// Findings are the procedure policy's decisions.
	Findings []matrix.Finding `json:"findings,omitempty"`
	Blocking bool             `json:"blocking"`
	Seconds  float64          `json:"seconds"`
	// Stages is where the run's time went, in order (environment start,
	// install-seed-upgrade, each procedure, chaos, matrix).
	Stages []Stage        `json:"stages,omitempty"`
	Matrix *matrix.Report `json:"-"`
}

// Stage is one timed part of a run.
type Stage struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// RunOutcome is what a run produced.
type RunOutcome struct {
	Report *RunReport
	OutDir string
	// Blocking: the matrix policy or the procedure policy blocks.
	Blocking bool
	KeptDSN  string // with Keep, never with a password
	// KeptPassFile is, with Keep on the local backend, the pgpass file
	// (0600) holding the password KeptDSN leaves out.
	KeptPassFile string
}

// Run rehearses a scenario end to end: install N, seed N-era data, back up,
// upgrade to N+1, seed N+1-era data, run every procedure on its own copy of
// that state, compute the matrix and write the reports. Everything it
// creates is removed on return, also when ctx is cancelled.
func Run(ctx context.Context, o RunOptions) (*RunOutcome, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	start := time.Now()
	s, err := scenario.Load(o.Scenario)
	if err != nil {
		return nil, &InputError{err}
	}
	backend := s.Spec.Backend
	if o.Backend != "" {
		backend = o.Backend
	}
	if err := s.ForBackend(backend); err != nil {
		return nil, &InputError{err}
	}
	runID := "run-" + newRunID(o.Now())
	if o.Out == "" {
		o.Out = filepath.Join("reports", runID)
	}
	dir, err := outdir.Open(o.Out)
	if err != nil {
		return nil, &InputError{err}
	}
	defer dir.Close()
	// Every input (migrations, versions, profile, policy, probes) is
	// checked before any server binary is built or environment started.
	mopts := matrixOptionsFor(s, o)
	mopts.stage = dir.Stage
	in, err := checkInputs(ctx, mopts)
	if err != nil {
		return nil, &InputError{fmt.Errorf("%s: %w", s.File, err)}
	}
	fromV, toV, base, next, bk := in.from, in.to, in.base, in.next, in.bk
	if err := s.CheckProcedures(base, next); err != nil {
		return nil, &InputError{err}
	}
	plan, faultSeed, err := chaosPlan(s, o.Chaos, next)
	if err != nil {
		return nil, &InputError{err}
	}
	work, err := os.MkdirTemp("", "rehearse-run-*")
	if err != nil {
		return nil, fmt.Errorf("create work folder: %w", err)
	}
	defer os.RemoveAll(work)

	r := &runner{o: o, s: s, backend: backend, work: work, progress: o.Progress}
	from, err := r.release(ctx, s.Spec.Releases.From, fromV)
	if err != nil {
		return nil, err
	}
	to, err := r.release(ctx, s.Spec.Releases.To, toV)
	if err != nil {
		return nil, err
	}
	r.images = []string{from.Image, to.Image}
	rec := r.newRecorder()
	r.statements = rec.Problem == ""
	e, err := r.environment(ctx, runID)
	if err != nil {
		return nil, err
	}
	if rec.Problem == "" {
		if rec.AdminDSN, err = e.AdminDSN(ctx); err != nil {
			return nil, err
		}
	}
	// The procedures' own environments (lanes, below) are closed with the
	// main one, at once.
	var ls *lanes
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			ls.close(cctx, o.Logger.Warn)
		}()
		if err := e.Close(cctx); err != nil {
			o.Logger.Warn("clean up environment", "err", err)
		}
		<-done
	}()

	rep := &RunReport{SchemaVersion: matrix.SchemaVersion, Scenario: s.Metadata.Name, Backend: backend, From: from.Name, To: to.Name}
	pc := &procedure.Context{
		Env: e, From: from, To: to, Base: base, Next: next, Bookkeeping: bk,
		WorkDir: work, Baseline: &procedure.Baseline{}, Logger: o.Logger, Progress: o.Progress,
		PGRestore: findPGRestore(o.PGBin), SavePreUpgrade: len(plan) > 0, Capture: rec,
		Checks: procedure.CheckOptions{
			Health: env.HealthOptions{Timeout: s.Spec.Checks.ReadyTimeout.Duration, Grace: s.Spec.Checks.Grace.Duration},
			Smoke:  smokeRequests(s.Spec.Smoke),
		},
	}
	newSeeder := func() (seed.Seeder, error) {
		var sd seed.Seeder = seed.New(seed.Options{Seed: s.Spec.Data.Seed, Rows: s.Spec.Data.Rows, Logger: o.Logger, Profile: in.profile})
		if in.data != nil {
			// The procedures start from the same real rows as the matrix.
			ds, err := in.data.seeder(mopts, sd)
			if err != nil {
				return nil, &InputError{err}
			}
			sd = ds
		}
		return sd, nil
	}
	seeder, err := newSeeder()
	if err != nil {
		return nil, err
	}
	procedures := s.ProcedureSpecs()
	// On a backend that forks, the procedures are dealt over lanes, each a
	// namespace of its own, rehearsed at once: most of the time goes into
	// waiting for pods (starts, probes, a readiness timeout).
	fk, forks := e.(env.Forker)
	var running *lanes  // lanes whose results the report waits for
	var mainIndex []int // scenario index of each procedure run here
	if n := laneCount(forks, o.ProcedureLanes, len(procedures), runtime.NumCPU(), in.data != nil); n > 1 {
		split := splitLanes(procedures, n)
		ls = r.startLanes(ctx, fk, *pc, split[1:], newSeeder, runID)
		running = ls
		fmt.Fprintf(o.Progress, "procedures in %d lanes, each in a namespace of its own: %s here, then", n, laneNames(split[0]))
		for _, l := range split[1:] {
			fmt.Fprintf(o.Progress, " [%s]", laneNames(l))
		}
		fmt.Fprintln(o.Progress)
		procedures = nil
		for _, ip := range split[0] {
			procedures = append(procedures, ip.spec)
			mainIndex = append(mainIndex, ip.index)
		}
	}
	t0 := time.Now()
	notes, err := procedure.Prepare(ctx, pc, seeder)
	r.stage("install "+from.Name+", seed, upgrade to "+to.Name, t0)
	var upErr *procedure.UpgradeError
	switch {
	case errors.As(err, &upErr):
		// The lanes cannot start from a post-upgrade state either.
		if running != nil {
			running.cancel()
			running = nil
		}
		// No post-upgrade state: a finding, not a harness failure. The
		// matrix still says which migration fails on data.
		rep.Findings = append(rep.Findings, matrix.Finding{Migration: "upgrade to " + to.Name, Action: "block", Reason: upErr.Error()})
		rep.Blocking = true
		fmt.Fprintln(o.Progress, "finding: "+upErr.Error())
	case err != nil:
		return nil, err
	}
	rep.Notes = append(rep.Notes, notes...)
	rep.Notes = append(rep.Notes, ignoredNote(in.set)...)
	rep.Notes = append(rep.Notes, unparsedNote(in.set, in.from, in.to)...)
	var captureNote string
	rep.Capture, captureNote = summarize(rec, from.Name, o.Progress)
	mopts.Probes = capturedProbes(rec)
	if upErr != nil {
		procedures = nil
	}
	// With lanes, the matrix (its own databases on the same server) runs
	// alongside the procedures too; its progress follows theirs.
	var bg *backgroundMatrix
	if running != nil && !o.NoMatrix {
		bg = r.startMatrix(ctx, e, mopts, from)
		defer bg.stop()
	}
	for i, spec := range procedures {
		p, name := spec.Procedure(), spec.Name
		if err := r.timed(fmt.Sprintf("fresh copy of the post-upgrade state for %s", name), func() error {
			return e.LoadState(ctx, procedure.StartState)
		}); err != nil {
			return nil, err
		}
		if mainIndex != nil {
			i = mainIndex[i]
		}
		pc.Checks.Unique = fmt.Sprintf("%s-%d-%d", strings.ReplaceAll(runID, "run-", ""), i, time.Now().UnixNano()%1e6)
		fmt.Fprintf(o.Progress, "procedure %s: %s\n", name, p.Description)
		t0 := time.Now()
		res, err := procedure.Run(ctx, p, pc)
		if err != nil {
			return nil, err
		}
		r.stage("procedure "+name, t0)
		fmt.Fprintf(o.Progress, "procedure %s: %s%s (%.1fs)\n", name, res.Verdict, reasonSuffix(res.Reasons), res.Seconds)
		rep.Procedures = append(rep.Procedures, *res)
	}
	if running != nil {
		done, err := running.wait()
		if err != nil {
			return nil, err
		}
		// Back into the scenario's order: the main environment ran
		// procedures 0, n, 2n..., lane k ran k, k+n...
		all := make([]procedure.Result, len(rep.Procedures)+countResults(done))
		for i, res := range rep.Procedures {
			all[mainIndex[i]] = res
		}
		for _, l := range done {
			_, _ = o.Progress.Write(l.out.Bytes())
			for j, res := range l.results {
				all[l.procs[j].index] = *res
			}
			r.stages = append(r.stages, l.stages...)
		}
		rep.Procedures = all
	}
	var mo *Outcome
	if bg != nil {
		// Chaos may kill PostgreSQL: the matrix must be done first.
		m := bg.wait()
		_, _ = o.Progress.Write(m.progress.Bytes())
		if m.err != nil {
			return nil, m.err
		}
		mo = m.out
		r.stages = append(r.stages, Stage{Name: "matrix (alongside the procedures)", Seconds: m.seconds})
	}
	applyProcedurePolicy(s, rep)
	if len(plan) > 0 && upErr == nil {
		t0 := time.Now()
		if err := r.runChaos(ctx, pc, plan, faultSeed, rep); err != nil {
			return nil, err
		}
		r.stage("chaos", t0)
	}

	out := &RunOutcome{Report: rep, OutDir: o.Out}
	if !o.NoMatrix {
		if mo == nil {
			t0 := time.Now()
			m := r.runMatrix(ctx, e, mopts, from, o.Progress)
			if m.err != nil {
				return nil, m.err
			}
			mo = m.out
			r.stage("matrix", t0)
		}
		rep.Matrix = mo.Report
		mo.Report.Notes = append(mo.Report.Notes, captureNote)
		// One report: matrix.json carries the procedures too.
		mo.Report.Procedures = rep.Procedures
		mo.Report.Chaos = rep.Chaos
		if in.data != nil {
			datasource.Redact(mo.Report)
		}
		if err := report.WriteAll(dir.Stage, mo.Report); err != nil {
			return nil, err
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.Stages = r.stages
	if r.backendStages != nil {
		for _, st := range r.backendStages() {
			rep.Stages = append(rep.Stages, Stage{Name: r.backend + ": " + st.Name, Seconds: st.Seconds})
		}
	}
	out.Blocking = rep.Blocking || rep.Matrix != nil && rep.Matrix.Blocking
	if in.data != nil {
		// Procedures ran on real rows too: no report quotes them.
		datasource.Redact(rep)
	}
	if err := writeProcedures(dir.Stage, rep); err != nil {
		return nil, err
	}
	if err := dir.Commit(); err != nil {
		return nil, err
	}
	if o.Keep {
		dsn, _ := e.DSN(ctx)
		out.KeptDSN = pgadmin.Redact(dsn)
		if pf, ok := e.(interface{ PassFile() string }); ok {
			out.KeptPassFile = pf.PassFile()
		}
	}
	return out, nil
}

func reasonSuffix(reasons []string) string {
	if len(reasons) == 0 {
		return ""
	}
	return ": " + reasons[0]
}

// matrixOptionsFor maps the scenario onto `rehearse matrix`'s options.
func matrixOptionsFor(s *scenario.Scenario, o RunOptions) MatrixOptions {
	sp := s.Spec
	m := MatrixOptions{
		Migrations:          s.Abs(sp.Migrations.Path),
		Layout:              sp.Migrations.Layout,
		Bookkeeping:         sp.Migrations.Bookkeeping,
		ReleasePerMigration: sp.Migrations.ReleasePerMigration,
		From:                sp.Releases.From.Version,
		To:                  sp.Releases.To.Version,
		OldQueries:          s.Abs(sp.Releases.From.OldQueries),
		Out:                 o.Out,
		Seed:                sp.Data.Seed,
		Rows:                sp.Data.Rows,
		Profile:             s.Abs(sp.Data.Profile),
		Parallel:            o.Parallel,
		PolicyFile:          s.Abs(sp.Policy.File),
		Logger:              o.Logger,
		Progress:            o.Progress,
		Now:                 o.Now,
		Roles:               s.Abs(sp.Roles),
		MigrateAs:           sp.MigrateAs,
		SearchPath:          sp.SearchPath,
	}
	if o.Roles != "" {
		m.Roles = o.Roles
	}
	if o.MigrateAs != "" {
		m.MigrateAs = o.MigrateAs
	}
	m.DataFrom, m.AllowDrift, m.Sample = sp.Data.From, sp.Data.AllowDrift, sp.Data.Sample
	if m.DataFrom != "" && !sp.Data.FromIsDSN() {
		m.DataFrom = s.Abs(m.DataFrom)
	}
	if o.DataFrom != "" {
		m.DataFrom = o.DataFrom
	}
	m.AllowDrift = m.AllowDrift || o.AllowDrift
	if o.SearchPath != "" {
		m.SearchPath = o.SearchPath
	}
	if sp.Releases.From.GitRef != "" {
		m.Git = true
		m.RepoDir = s.Abs(sp.Migrations.Repo)
		if m.RepoDir == "" {
			m.RepoDir = s.Dir
		}
		m.Migrations = sp.Migrations.Path
		m.From, m.To = sp.Releases.From.GitRef, sp.Releases.To.GitRef
	}
	return m
}

func smokeRequests(in []scenario.SmokeRequest) []procedure.SmokeRequest {
	out := make([]procedure.SmokeRequest, len(in))
	for i, r := range in {
		out[i] = procedure.SmokeRequest{Name: r.Name, Method: r.Method, Path: r.Path, Body: r.Body, Expect: r.Expect, Save: r.Save}
	}
	return out
}

type runner struct {
	o        RunOptions
	s        *scenario.Scenario
	backend  string
	work     string
	progress io.Writer
	images   []string // the releases' server images (kind loads them)
	stages   []Stage
	// backendStages are the backend's own (kind: cluster create, image loads).
	backendStages func() []kind.Stage
	// statements: the backend's PostgreSQL loads pg_stat_statements.
	statements bool
}

// stage records a part of the run that started at t0 and ends now.
func (r *runner) stage(name string, t0 time.Time) {
	r.stages = append(r.stages, Stage{Name: name, Seconds: time.Since(t0).Seconds()})
}

// timed runs f as one line of progress and one stage of the report.
func (r *runner) timed(what string, f func() error) error {
	t0 := time.Now()
	err := f()
	r.stage(what, t0)
	status := "ok"
	if err != nil {
		status = "fail"
	}
	fmt.Fprintf(r.progress, "%s ... %s (%.1fs)\n", what, status, time.Since(t0).Seconds())
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// release turns a scenario release into what the backends deploy,
// building the server binary for the local backend.
func (r *runner) release(ctx context.Context, sr scenario.Release, version string) (env.Release, error) {
	migDir := r.s.Abs(r.s.Spec.Migrations.Path)
	expand := func(v string) string { return strings.ReplaceAll(v, "${MIGRATIONS}", migDir) }
	rel := env.Release{
		Name: sr.Name, Version: version, Image: sr.Server.Image, Port: sr.Server.Port,
		ViaHook: sr.Server.MigrationsViaHook, Chart: r.s.Abs(sr.Chart.Path), Values: sr.Chart.Values,
		Env: map[string]string{},
	}
	for _, a := range sr.Server.Args {
		rel.Args = append(rel.Args, expand(a))
	}
	for k, v := range sr.Server.Env {
		rel.Env[k] = expand(v)
	}
	if r.backend != "local" {
		// server.args name host paths (${MIGRATIONS}); an image brings its own.
		rel.Args = nil
		return rel, nil
	}
	if sr.Server.Binary != "" {
		rel.Binary = r.s.Abs(sr.Server.Binary)
		return rel, nil
	}
	b := sr.Server.Build
	rel.Binary = filepath.Join(r.work, "server-"+pgadmin.Name(sr.Name))
	err := r.timed("build release "+sr.Name+" server ("+b.Package+")", func() error {
		return BuildServer(ctx, r.s.Abs(b.Module), b.Package, b.LDFlags, rel.Binary)
	})
	return rel, err
}

// BuildServer runs `go build -ldflags LDFLAGS -o OUT PKG` in module dir.
func BuildServer(ctx context.Context, dir, pkg, ldflags, out string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if dir == "" {
		dir = "."
	}
	args := []string{"build", "-o", out}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s in %s: %w\n%s", pkg, dir, err, b)
	}
	return nil
}

// postgresImage is the PostgreSQL image of the docker and kind backends:
// --postgres-image, else spec.postgres.image, else the default (the
// official image of the local binaries' major version).
func (r *runner) postgresImage(ctx context.Context) string {
	if r.o.PostgresImage != "" {
		return r.o.PostgresImage
	}
	if r.s.Spec.Postgres.Image != "" {
		return r.s.Spec.Postgres.Image
	}
	return docker.DefaultPostgresImage(ctx, r.o.PGBin)
}

func (r *runner) environment(ctx context.Context, runID string) (env.Environment, error) {
	var e env.Environment
	err := r.timed("start the "+r.backend+" environment", func() error {
		var err error
		switch r.backend {
		case "local":
			e, err = local.NewEnvironment(ctx, local.EnvOptions{
				Options:  env.Options{RunID: runID, Keep: r.o.Keep},
				Postgres: local.Options{BinDir: r.o.PGBin, RunAs: r.o.PGUser, Logger: r.o.Logger, Statements: r.statements},
				Logger:   r.o.Logger,
			})
		case "docker":
			e, err = docker.NewEnvironment(ctx, docker.Options{
				Options:       env.Options{RunID: runID, Keep: r.o.Keep},
				PostgresImage: r.postgresImage(ctx),
				Logger:        r.o.Logger,
				Statements:    r.statements,
			})
		case "kind":
			nodeImage := r.o.NodeImage
			if nodeImage == "" {
				nodeImage = os.Getenv("REHEARSE_KIND_NODE_IMAGE")
			}
			var ke *kind.Environment
			ke, err = kind.New(ctx, kind.Options{
				Options:      env.Options{RunID: runID, Keep: r.o.Keep},
				NodeImage:    nodeImage,
				Images:       append([]string{r.postgresImage(ctx)}, r.images...),
				DockerShim:   os.Getenv(kind.DockerShimEnv),
				ReuseCluster: r.o.ReuseCluster,
				Logger:       r.o.Logger,
			})
			if ke != nil {
				e = ke
				r.backendStages = ke.Stages
			}
		case "kube":
			var ke *kube.Environment
			ke, err = kube.New(ctx, kube.Options{
				Options:    env.Options{RunID: runID, Keep: r.o.Keep},
				Kubeconfig: r.o.Kubeconfig, Context: r.o.KubeContext,
				Namespace: r.o.Namespace, NamespaceOwned: r.o.NamespaceOwned,
				Logger: r.o.Logger,
			})
			if ke != nil {
				e = ke
			}
		default:
			err = &InputError{fmt.Errorf("unknown backend %q: use local, docker, kind or kube", r.backend)}
		}
		return err
	})
	return e, err
}

// applyProcedurePolicy blocks when a procedure is worse than the policy
// allows for it.
func applyProcedurePolicy(s *scenario.Scenario, rep *RunReport) {
	for _, res := range rep.Procedures {
		allowed, ok := s.Spec.Policy.Procedures[res.Name]
		if !ok {
			continue
		}
		if procedure.Worse(res.Verdict, allowed) {
			rep.Findings = append(rep.Findings, matrix.Finding{
				Migration: "procedure " + res.Name, Verdict: res.Verdict, Action: "block",
				Reason: fmt.Sprintf("%s is %s, the policy allows at worst %s: %s", res.Name, res.Verdict, allowed, strings.Join(res.Reasons, "; ")),
			})
			rep.Blocking = true
		}
	}
}

// writeProcedures writes procedures.json and procedures.md into dir.
func writeProcedures(dir string, rep *RunReport) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode procedures.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "procedures.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write procedures.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "procedures.md"), []byte(ProceduresMarkdown(rep)), 0o644); err != nil {
		return fmt.Errorf("write procedures.md: %w", err)
	}
	return nil
}

// ProceduresMarkdown renders the procedures section: a summary table, then
// each procedure's timeline and checks.
func ProceduresMarkdown(rep *RunReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Rollback procedures: %s -> %s (%s backend)\n\n", rep.From, rep.To, rep.Backend)
	b.WriteString("| procedure | verdict | N+1-era rows lost | why |\n|---|---|---|---|\n")
	for _, p := range rep.Procedures {
		fmt.Fprintf(&b, "| %s | **%s** | %d | %s |\n", p.Name, p.Verdict, p.WritesLost, mdCell(strings.Join(p.Reasons, "; ")))
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "\n> %s\n", n)
	}
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "\n**%s**: %s\n", f.Action, f.Reason)
	}
	if len(rep.Stages) > 0 {
		b.WriteString("\n| stage | seconds |\n|---|---|\n")
		for _, st := range rep.Stages {
			fmt.Fprintf(&b, "| %s | %.1f |\n", mdCell(st.Name), st.Seconds)
		}
	}
	for _, p := range rep.Procedures {
		fmt.Fprintf(&b, "\n### %s: %s\n\n%s\n\n| at | step | status | seconds | output / error |\n|---|---|---|---|---|\n", p.Name, p.Verdict, p.Description)
		for _, s := range p.Steps {
			text := s.Output
			if s.Error != "" {
				text = s.Error
			}
			fmt.Fprintf(&b, "| %.1fs | %s | %s | %.2f | %s |\n", s.At, mdCell(s.Name), s.Status, s.Seconds, mdCell(text))
		}
		b.WriteString("\n| check | status | summary |\n|---|---|---|\n")
		for _, c := range p.Checks {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", c.Name, c.Status, mdCell(c.Summary))
		}
		for _, c := range p.Checks {
			if c.Detail != "" && c.Status != procedure.StatusOK {
				fmt.Fprintf(&b, "\n<details><summary>%s</summary>\n\n```\n%s\n```\n</details>\n", c.Name, c.Detail)
			}
		}
	}
	if len(rep.Chaos) > 0 {
		b.WriteString("\n" + report.ChaosMarkdown(rep.Chaos))
	}
	return b.String()
}

func mdCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:397] + "..."
	}
	return strings.ReplaceAll(s, "|", `\|`)
}

// IsInputError reports whether err is bad input (exit code 2 with a
// message saying what to fix).
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// serverProbe makes the matrix start release N's server (as a local process)
// on every state and send the scenario's GET smoke requests: with it, the
// oldCode check no longer needs --old-queries.
func serverProbe(from env.Release, smoke []scenario.SmokeRequest) *matrix.ServerProbe {
	if from.Binary == "" {
		return nil
	}
	var paths []string
	for _, r := range smoke {
		if (r.Method == "" || strings.EqualFold(r.Method, "GET")) && !strings.Contains(r.Path, "{") {
			paths = append(paths, r.Path)
		}
	}
	names := []string{"start-up"}
	for _, p := range paths {
		names = append(names, "GET "+p)
	}
	return &matrix.ServerProbe{
		Names: names,
		Run: func(ctx context.Context, dsn string) []matrix.ProbeOutcome {
			checks := local.ProbeServer(ctx, from, dsn, 20*time.Second, paths)
			out := make([]matrix.ProbeOutcome, len(names))
			for i := range out {
				out[i] = matrix.ProbeOutcome{Err: "not run"}
				if i < len(checks) {
					out[i] = matrix.ProbeOutcome{Err: checks[i].Err}
				}
			}
			return out
		},
	}
}
