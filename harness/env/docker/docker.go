// Package docker runs PostgreSQL and the app server as containers.
package docker

import (
	"context"
	"errors"
	"log/slog"

	"github.com/rehearse-dev/rehearse/harness/env"
)

// Options configures the docker Environment.
type Options struct {
	env.Options
	PostgresImage string
	Logger        *slog.Logger
}

// NewEnvironment is not written yet.
func NewEnvironment(ctx context.Context, o Options) (env.Environment, error) {
	return nil, errors.New("docker backend: not yet")
}
