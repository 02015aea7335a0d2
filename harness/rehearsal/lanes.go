package rehearsal

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rehearse-dev/rehearse/harness/env"
	"github.com/rehearse-dev/rehearse/harness/procedure"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

// DefaultProcedureLanes is the most lanes a run uses by default on a
// backend that forks (kind, kube); fewer on a machine with fewer cores
// (at least 2). Each lane is a namespace with its own PostgreSQL and
// server pods.
const DefaultProcedureLanes = 4

// lane is a fork of the environment (a namespace of its own on the same
// cluster) that rehearses some of the procedures: install N, seed, back
// up, upgrade, seed, as the main environment does, then each procedure on
// a fresh copy of that state. The seeder is deterministic, so every lane
// starts from the same rows.
type lane struct {
	name string
	// procs are the lane's procedures with their index in the scenario.
	procs []indexedSpec
	out   bytes.Buffer // progress, printed once the lane is done
	// stages are the lane's own, named after its procedures.
	stages  []Stage
	results []*procedure.Result // as procs
	err     error
	env     env.Environment // the fork, closed by lanes.close
}

type indexedSpec struct {
	index int
	spec  procedure.Spec
}

// lanes are the forks rehearsing procedures while the main environment
// runs its share.
type lanes struct {
	all    []*lane
	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// splitLanes deals the procedures round-robin over n lanes: lane 0 (the
// main environment) gets procedures 0, n, 2n...; lane k gets k, k+n...
func splitLanes(specs []procedure.Spec, n int) [][]indexedSpec {
	out := make([][]indexedSpec, n)
	for i, s := range specs {
		out[i%n] = append(out[i%n], indexedSpec{index: i, spec: s})
	}
	return out
}

// startLanes forks one environment per lane and runs each in the
// background. pc is the main environment's context as it was before
// Prepare (each lane fills its own copy).
func (r *runner) startLanes(ctx context.Context, fk env.Forker, pc procedure.Context, split [][]indexedSpec, newSeeder func() (seed.Seeder, error), runID string) *lanes {
	ctx, cancel := context.WithCancel(ctx)
	ls := &lanes{cancel: cancel}
	for k, procs := range split {
		l := &lane{name: fmt.Sprintf("p%d", k), procs: procs}
		ls.all = append(ls.all, l)
		ls.wg.Add(1)
		go func() {
			defer ls.wg.Done()
			l.err = r.runLane(ctx, l, fk, pc, newSeeder, runID)
			if l.err != nil {
				// A harness failure in one lane ends the run: stop the others.
				cancel()
			}
		}()
	}
	return ls
}

// wait returns the lanes once all are done, or the first error.
func (ls *lanes) wait() ([]*lane, error) {
	ls.wg.Wait()
	ls.cancel()
	for _, l := range ls.all {
		if l.err != nil {
			return nil, fmt.Errorf("procedures %s (in a namespace of their own): %w", laneNames(l.procs), l.err)
		}
	}
	return ls.all, nil
}

// close cancels the lanes, waits for them, and closes their forks at
// once (on a kept cluster each deletes its namespace).
func (ls *lanes) close(ctx context.Context, log func(msg string, args ...any)) {
	if ls == nil {
		return
	}
	ls.cancel()
	ls.wg.Wait()
	var wg sync.WaitGroup
	for _, l := range ls.all {
		if l.env == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.env.Close(ctx); err != nil {
				log("clean up the environment of procedures "+laneNames(l.procs), "err", err)
			}
		}()
	}
	wg.Wait()
}

func (r *runner) runLane(ctx context.Context, l *lane, fk env.Forker, pc procedure.Context, newSeeder func() (seed.Seeder, error), runID string) error {
	stage := func(what string, t0 time.Time) {
		l.stages = append(l.stages, Stage{Name: what, Seconds: time.Since(t0).Seconds()})
	}
	t0 := time.Now()
	fe, err := fk.Fork(ctx, l.name)
	if err != nil {
		return err
	}
	// Closed with the main environment, after the reports are written.
	l.env = fe
	if n, ok := fe.(interface{ Namespace() string }); ok {
		fmt.Fprintf(&l.out, "procedures %s, in namespace %s:\n", laneNames(l.procs), n.Namespace())
	}
	seeder, err := newSeeder()
	if err != nil {
		return err
	}
	dir := filepath.Join(r.work, "lane-"+l.name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("work folder of lane %s: %w", l.name, err)
	}
	pc.Env, pc.WorkDir, pc.Baseline, pc.Progress = fe, dir, &procedure.Baseline{}, &l.out
	pc.Capture, pc.SavePreUpgrade, pc.DownHook, pc.PreUpgradeBackup = nil, false, nil, ""
	if _, err := procedure.Prepare(ctx, &pc, seeder); err != nil {
		return fmt.Errorf("prepare the post-upgrade state: %w", err)
	}
	stage(laneNames(l.procs)+": install, seed, upgrade in a namespace of their own", t0)
	for _, ip := range l.procs {
		name := ip.spec.Name
		t0 := time.Now()
		if err := pc.Env.LoadState(ctx, procedure.StartState); err != nil {
			return fmt.Errorf("fresh copy of the post-upgrade state for %s: %w", name, err)
		}
		stage("fresh copy of the post-upgrade state for "+name, t0)
		fmt.Fprintf(&l.out, "fresh copy of the post-upgrade state for %s ... ok (%.1fs)\n", name, time.Since(t0).Seconds())
		pc.Checks.Unique = fmt.Sprintf("%s-%d-%d", strings.ReplaceAll(runID, "run-", ""), ip.index, time.Now().UnixNano()%1e6)
		p := ip.spec.Procedure()
		fmt.Fprintf(&l.out, "procedure %s: %s\n", name, p.Description)
		t0 = time.Now()
		res, err := procedure.Run(ctx, p, &pc)
		if err != nil {
			return err
		}
		stage("procedure "+name, t0)
		fmt.Fprintf(&l.out, "procedure %s: %s%s (%.1fs)\n", name, res.Verdict, reasonSuffix(res.Reasons), res.Seconds)
		l.results = append(l.results, res)
	}
	return nil
}

func laneNames(procs []indexedSpec) string {
	names := make([]string, len(procs))
	for i, p := range procs {
		names[i] = p.spec.Name
	}
	return strings.Join(names, ", ")
}

// laneCount is how many lanes rehearse the procedures: 1 (one after
// another, in the main environment) unless the backend forks, no data
// source is read (it would be read once per lane) and more than one
// procedure runs; then lanes, or by default one per core (at least 2, at
// most DefaultProcedureLanes), and at most one per procedure.
func laneCount(forks bool, lanes, procedures, cores int, dataSource bool) int {
	if !forks || dataSource || procedures < 2 {
		return 1
	}
	if lanes <= 0 {
		lanes = min(max(cores, 2), DefaultProcedureLanes)
	}
	return min(lanes, procedures)
}

// matrixResult is the matrix of a run, computed in the background.
type matrixResult struct {
	out      *Outcome
	err      error
	seconds  float64
	progress bytes.Buffer
}

// runMatrix computes the matrix on the environment's PostgreSQL.
func (r *runner) runMatrix(ctx context.Context, e env.Environment, mopts MatrixOptions, from env.Release, progress io.Writer) *matrixResult {
	m := &matrixResult{}
	t0 := time.Now()
	defer func() { m.seconds = time.Since(t0).Seconds() }()
	admin, err := e.AdminDSN(ctx)
	if err != nil {
		m.err = err
		return m
	}
	mopts.DSN = admin
	mopts.ServerProbe = serverProbe(from, r.s.Spec.Smoke)
	mopts.Progress = progress
	fmt.Fprintln(progress, "matrix: one row per migration of release "+r.s.Spec.Releases.To.Name)
	m.out, m.err = RunMatrix(ctx, mopts)
	return m
}

// backgroundMatrix is the matrix computed while the procedures run; its
// progress is kept until theirs is printed.
type backgroundMatrix struct {
	done   chan struct{}
	res    *matrixResult
	cancel context.CancelFunc
}

func (r *runner) startMatrix(ctx context.Context, e env.Environment, mopts MatrixOptions, from env.Release) *backgroundMatrix {
	ctx, cancel := context.WithCancel(ctx)
	b := &backgroundMatrix{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(b.done)
		var buf bytes.Buffer
		b.res = r.runMatrix(ctx, e, mopts, from, &buf)
		b.res.progress = buf
	}()
	return b
}

// wait returns the matrix once computed.
func (b *backgroundMatrix) wait() *matrixResult {
	<-b.done
	return b.res
}

// stop cancels the matrix and waits for it (it uses the environment,
// which is closed next).
func (b *backgroundMatrix) stop() {
	if b == nil {
		return
	}
	b.cancel()
	<-b.done
}

func countResults(ls []*lane) int {
	n := 0
	for _, l := range ls {
		n += len(l.results)
	}
	return n
}
