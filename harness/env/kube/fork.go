package kube

import (
	"context"
	"fmt"

	"github.com/rehearse-dev/rehearse/harness/env"
)

var _ env.Forker = (*Environment)(nil)

// Fork implements env.Forker: a new Environment on the same cluster in the
// namespace <namespace>-<name>, created and labelled with the run's id like
// the parent's, with its own work dir and port-forwards. Close deletes that
// namespace unless the parent keeps its own (KeepNamespace: a kind cluster
// thrown away takes every namespace with it).
func (e *Environment) Fork(ctx context.Context, name string) (env.Environment, error) {
	o := e.opts
	o.Namespace = e.ns + "-" + name
	if len(o.Namespace) > 63 {
		return nil, fmt.Errorf("fork %s: namespace %s is longer than 63 characters (pass a shorter --namespace)", name, o.Namespace)
	}
	o.NamespaceOwned = false
	o.WorkDir = ""
	f, err := New(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("fork %s: %w", name, err)
	}
	return f, nil
}
