package kube

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"k8s.io/apimachinery/pkg/types"
	"net/http"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
)

// forward is one client-go port-forward from 127.0.0.1 to a pod's port, as
// `kubectl port-forward` does. It dies with its pod; alive tells.
type forward struct {
	pod   string
	uid   types.UID // of the pod forwarded to, set by the caller that knows it
	port  int
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	errMu sync.Mutex
	err   error
}

func startForward(ctx context.Context, cfg *rest.Config, cs kubernetes.Interface, ns, pod string, remotePort int) (*forward, error) {
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("port-forward to %s: %w", pod, err)
	}
	url := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)
	f := &forward{pod: pod, stop: make(chan struct{}), done: make(chan struct{})}
	ready := make(chan struct{})
	var errOut bytes.Buffer
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", remotePort)}, f.stop, ready, io.Discard, &syncWriter{w: &errOut})
	if err != nil {
		return nil, fmt.Errorf("port-forward to %s:%d: %w", pod, remotePort, err)
	}
	go func() {
		err := fw.ForwardPorts()
		f.errMu.Lock()
		f.err = err
		f.errMu.Unlock()
		close(f.done)
	}()
	select {
	case <-ready:
	case <-f.done:
		return nil, fmt.Errorf("port-forward to %s:%d: %v %s", pod, remotePort, f.lastErr(), strings.TrimSpace(errOut.String()))
	case <-ctx.Done():
		f.close()
		return nil, fmt.Errorf("port-forward to %s:%d: %w", pod, remotePort, ctx.Err())
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) == 0 {
		f.close()
		return nil, fmt.Errorf("port-forward to %s:%d: no local port: %v", pod, remotePort, err)
	}
	f.port = int(ports[0].Local)
	return f, nil
}

func (f *forward) alive() bool {
	select {
	case <-f.done:
		return false
	default:
		return true
	}
}

func (f *forward) lastErr() error {
	f.errMu.Lock()
	defer f.errMu.Unlock()
	return f.err
}

func (f *forward) close() {
	f.once.Do(func() { close(f.stop) })
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// execIn runs command in a container of pod, as `kubectl exec` does,
// streaming stdin (may be nil) and stdout; it returns stderr.
func execIn(ctx context.Context, cfg *rest.Config, cs kubernetes.Interface, ns, pod, container string, command []string, stdin io.Reader, stdout io.Writer) (string, error) {
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container,
			Command:   command,
			Stdin:     stdin != nil,
			Stdout:    true,
			Stderr:    true,
		}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(cfg, http.MethodPost, req.URL())
	if err != nil {
		return "", fmt.Errorf("exec in %s: %w", pod, err)
	}
	var stderr bytes.Buffer
	if stdout == nil {
		stdout = io.Discard
	}
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: &stderr})
	if err != nil {
		return stderr.String(), fmt.Errorf("exec %q in pod %s: %w\n%s", strings.Join(command, " "), pod, err, tail(stderr.String(), 20))
	}
	return stderr.String(), nil
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}
