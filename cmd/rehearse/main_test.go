package main

import (
	"testing"

	"github.com/rehearse-dev/rehearse/harness/pgtest"
)

// TestMain stops the shared PostgreSQL the --dsn tests use.
func TestMain(m *testing.M) { pgtest.Main(m) }
