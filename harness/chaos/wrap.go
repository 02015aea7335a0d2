package chaos

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/rehearse-dev/rehearse/harness/env"
)

// faultyEnv is the environment with one fault wired into a method; every
// other method is the real one.
type faultyEnv struct {
	env.Environment
	fault string
	// landed records that the fault happened (a fault whose moment never
	// comes is "not reached", not "recovered").
	landed bool
	why    string // why it did not land
	err    error  // a failure of the injection itself
	// health bounds the wait for the server to be up before it is killed.
	health env.HealthOptions
}

// Backup breaks the dump as the fault says.
func (f *faultyEnv) Backup(ctx context.Context, path string) error {
	switch f.fault {
	case BackupFail:
		f.landed = true
		return fmt.Errorf("pg_dump exited with status 1 (injected fault %s)", BackupFail)
	case BackupEmpty, BackupTruncated:
		if err := f.Environment.Backup(ctx, path); err != nil {
			return err
		}
		f.landed = true
		f.err = breakDump(path, f.fault)
		return nil
	}
	return f.Environment.Backup(ctx, path)
}

// Restore crashes PostgreSQL while pg_restore runs.
func (f *faultyEnv) Restore(ctx context.Context, path string) error {
	if f.fault != KillPostgres {
		return f.Environment.Restore(ctx, path)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.landed, f.err = crashDuringRestore(wctx, f.Environment.AdminDSN, stop)
	}()
	err := f.Environment.Restore(ctx, path)
	close(stop)
	<-done
	return err
}

// Rollback starts release N, then (crash-loop) kills its server once.
func (f *faultyEnv) Rollback(ctx context.Context, to env.Release) error {
	return f.killAfter(ctx, CrashLoop, f.Environment.Rollback(ctx, to))
}

// Upgrade rolls release N+1 out, then (ready-timeout) kills its server so
// the rollout does not stay ready.
func (f *faultyEnv) Upgrade(ctx context.Context, to env.Release) error {
	return f.killAfter(ctx, ReadyTimeout, f.Environment.Upgrade(ctx, to))
}

// killAfter kills the server after a rollout that succeeded, when the
// fault is the one that does.
func (f *faultyEnv) killAfter(ctx context.Context, fault string, rolloutErr error) error {
	if rolloutErr != nil || f.fault != fault {
		return rolloutErr
	}
	return f.killServer(ctx)
}

// killServer waits until the server is ready (a server that never comes up
// has nothing to crash: the fault does not land), then kills it.
func (f *faultyEnv) killServer(ctx context.Context) error {
	k, ok := f.Environment.(env.ServerKiller)
	if !ok {
		return fmt.Errorf("the %s backend cannot kill the server", f.Name())
	}
	h, err := f.Environment.ServerHealth(ctx, env.HealthOptions{Timeout: f.health.Timeout})
	if err != nil {
		f.err = err
		return nil
	}
	if !h.Ready {
		f.why = "the server never became ready: " + h.Detail
		return nil
	}
	if err := k.KillServer(ctx); err != nil {
		f.err = err
		return nil
	}
	f.landed = true
	return nil
}

// breakDump empties the dump at path, or cuts it in half.
func breakDump(path, fault string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("break the dump: %w", err)
	}
	size := int64(0)
	if fault == BackupTruncated {
		size = fi.Size() / 2
	}
	if err := os.Truncate(path, size); err != nil {
		return fmt.Errorf("break the dump: %w", err)
	}
	return nil
}
