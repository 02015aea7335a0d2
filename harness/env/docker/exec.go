package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	tcexec "github.com/testcontainers/testcontainers-go/exec"

	"github.com/rehearse-dev/rehearse/harness/env"
)

var _ env.ServerExecer = (*Environment)(nil)

// ExecServer implements env.ServerExecer with `docker exec` in the first
// running server container.
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
		return "", errors.New("exec in the server: no server container is running (scale it up first)")
	}
	code, r, err := rp.c.Exec(ctx, command, tcexec.Multiplexed())
	if err != nil {
		return "", fmt.Errorf("docker exec %s %q: %w", rp.name, strings.Join(command, " "), err)
	}
	b, _ := io.ReadAll(r)
	if code != 0 {
		return string(b), fmt.Errorf("docker exec %s %q exited with %d: %s", rp.name, strings.Join(command, " "), code, tail(string(b), 20))
	}
	return string(b), nil
}
