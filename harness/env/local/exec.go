package local

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/rehearse-dev/rehearse/harness/env"
)

var _ env.ServerExecer = (*Environment)(nil)

// ExecServer implements env.ServerExecer: the server "container" of the
// local backend is the harness's machine, so the command runs there with a
// running replica's environment (DATABASE_URL, the release's variables). As
// with `kubectl exec`, a replica must be running.
func (e *Environment) ExecServer(ctx context.Context, command []string) (string, error) {
	if len(command) == 0 {
		return "", errors.New("exec in the server: no command")
	}
	e.mu.Lock()
	var rp *replica
	if len(e.replicas) > 0 {
		rp = e.replicas[0]
	}
	e.mu.Unlock()
	if rp == nil {
		return "", errors.New("exec in the server: no server replica is running (scale it up first)")
	}
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Env = serverEnv(rp.release, map[string]string{"DATABASE_URL": rp.dsn})
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("exec %q in the server (local process): %w: %s", strings.Join(command, " "), err, tailText(string(out), 20))
	}
	return string(out), nil
}
