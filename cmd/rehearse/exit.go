package main

import (
	"errors"
	"fmt"
)

// Exit codes of rehearse: 0 nothing blocking, 1 a blocking finding or a
// regression, 2 the harness itself failed (bad input, environment).
const (
	exitOK      = 0
	exitFinding = 1
	exitHarness = 2
)

// exitError carries the process exit code up to main; every other error
// exits exitHarness.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e exitError) Unwrap() error { return e.err }

// exitCodeOf maps an error returned by a command to the process exit code.
func exitCodeOf(err error) int {
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitHarness
}
