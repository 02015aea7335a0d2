package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/rehearse-dev/rehearse/harness/env"
)

// dbInfo is how to reach the chart's PostgreSQL.
type dbInfo struct {
	pod, container           string
	uid                      types.UID // a pod re-created under the same name is another pod
	user, password, database string
	port                     int
}

func (e *Environment) selector(component string) string {
	return labels.Set{"app.kubernetes.io/instance": e.opts.ReleaseName, "app.kubernetes.io/component": component}.String()
}

// database finds the ready PostgreSQL pod (waiting for it) and its
// credentials; the answer is cached while the pod lives.
func (e *Environment) database(ctx context.Context) (*dbInfo, error) {
	if e.current == nil {
		return nil, errors.New("database: nothing installed")
	}
	if e.db != nil {
		p, err := e.cluster.Clientset.CoreV1().Pods(e.ns).Get(ctx, e.db.pod, metav1.GetOptions{})
		if err == nil && p.UID == e.db.uid && p.DeletionTimestamp == nil && podReady(p) {
			return e.db, nil
		}
		e.db = nil
		e.closeForward()
	}
	ctx, cancel := context.WithTimeout(ctx, e.opts.ReadyTimeout)
	defer cancel()
	sel := e.selector(e.opts.Selectors.DatabaseComponent)
	for {
		pods, err := e.cluster.Clientset.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return nil, fmt.Errorf("find the PostgreSQL pod (%s): %w", sel, err)
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.DeletionTimestamp == nil && podReady(p) {
				db, err := e.dbFromPod(ctx, p)
				if err != nil {
					return nil, err
				}
				e.db = db
				return db, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no ready PostgreSQL pod labelled %s in namespace %s after %s", sel, e.ns, e.opts.ReadyTimeout)
		case <-time.After(time.Second):
		}
	}
}

// dbFromPod reads POSTGRES_USER/PASSWORD/DB of the pod's container, as the
// official postgres image defines them.
func (e *Environment) dbFromPod(ctx context.Context, p *corev1.Pod) (*dbInfo, error) {
	c := p.Spec.Containers[0]
	db := &dbInfo{pod: p.Name, uid: p.UID, container: c.Name, user: "postgres", port: 5432}
	for _, port := range c.Ports {
		if port.Name == "postgresql" || port.Name == "postgres" || port.ContainerPort == 5432 {
			db.port = int(port.ContainerPort)
			break
		}
	}
	for _, ev := range c.Env {
		v := ev.Value
		if ev.ValueFrom != nil && ev.ValueFrom.SecretKeyRef != nil {
			ref := ev.ValueFrom.SecretKeyRef
			s, err := e.cluster.Clientset.CoreV1().Secrets(e.ns).Get(ctx, ref.Name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("read %s of pod %s from secret %s: %w", ev.Name, p.Name, ref.Name, err)
			}
			v = string(s.Data[ref.Key])
		}
		switch ev.Name {
		case "POSTGRES_USER":
			db.user = v
		case "POSTGRES_PASSWORD":
			db.password = v
		case "POSTGRES_DB":
			db.database = v
		}
	}
	if db.database == "" {
		db.database = db.user
	}
	return db, nil
}

// dsn is a connection string to database through the port-forward,
// started (again) when needed.
func (e *Environment) dsn(ctx context.Context, database string) (string, error) {
	db, err := e.database(ctx)
	if err != nil {
		return "", err
	}
	if e.pgFwd == nil || !e.pgFwd.alive() || e.pgFwd.pod != db.pod || e.pgFwd.uid != db.uid {
		e.closeForward()
		f, err := startForward(ctx, e.cluster.Config, e.cluster.Clientset, e.ns, db.pod, db.port)
		if err != nil {
			return "", err
		}
		f.uid = db.uid
		e.pgFwd = f
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(db.user, db.password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(e.pgFwd.port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String(), nil
}

func (e *Environment) closeForward() {
	if e.pgFwd != nil {
		e.pgFwd.close()
		e.pgFwd = nil
	}
}

// dbExec runs a command in the PostgreSQL container (as its image's
// default user, over the local socket).
func (e *Environment) dbExec(ctx context.Context, db *dbInfo, stdin io.Reader, stdout io.Writer, command ...string) (string, error) {
	return execIn(ctx, e.cluster.Config, e.cluster.Clientset, e.ns, db.pod, db.container, command, stdin, stdout)
}

// copyOut copies a file out of the PostgreSQL pod (what `kubectl cp` does,
// without needing tar in the image).
func (e *Environment) copyOut(ctx context.Context, db *dbInfo, remote, local string) error {
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return fmt.Errorf("copy %s:%s out: %w", db.pod, remote, err)
	}
	f, err := os.Create(local + ".partial")
	if err != nil {
		return fmt.Errorf("copy %s:%s out: %w", db.pod, remote, err)
	}
	_, err = e.dbExec(ctx, db, nil, f, "cat", remote)
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(local+".partial", local)
	}
	if err != nil {
		os.Remove(local + ".partial")
		return fmt.Errorf("copy %s:%s to %s: %w", db.pod, remote, local, err)
	}
	return nil
}

// copyIn copies a local file into the PostgreSQL pod and checks its size.
func (e *Environment) copyIn(ctx context.Context, db *dbInfo, local, remote string) error {
	f, err := os.Open(local)
	if err != nil {
		return fmt.Errorf("copy %s in: %w", local, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("copy %s in: %w", local, err)
	}
	if _, err := e.dbExec(ctx, db, f, nil, "sh", "-c", `cat > "$1"`, "sh", remote); err != nil {
		return fmt.Errorf("copy %s to %s:%s: %w", local, db.pod, remote, err)
	}
	var out bytes.Buffer
	if _, err := e.dbExec(ctx, db, nil, &out, "wc", "-c", remote); err != nil {
		return fmt.Errorf("copy %s to %s:%s: %w", local, db.pod, remote, err)
	}
	if got := strings.Fields(out.String()); len(got) == 0 || got[0] != strconv.FormatInt(st.Size(), 10) {
		return fmt.Errorf("copy %s to %s:%s: %s bytes arrived, want %d", local, db.pod, remote, strings.TrimSpace(out.String()), st.Size())
	}
	return nil
}

// serverDeployment is the release's server Deployment.
func (e *Environment) serverDeployment(ctx context.Context) (*appsv1.Deployment, error) {
	sel := e.selector(e.opts.Selectors.ServerComponent)
	ds, err := e.cluster.Clientset.AppsV1().Deployments(e.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("find the server Deployment (%s): %w", sel, err)
	}
	if len(ds.Items) != 1 {
		return nil, fmt.Errorf("find the server Deployment: %d Deployments in namespace %s are labelled %s, want 1", len(ds.Items), e.ns, sel)
	}
	return &ds.Items[0], nil
}

func (e *Environment) replicas(ctx context.Context) (int, error) {
	d, err := e.serverDeployment(ctx)
	if err != nil {
		return 0, err
	}
	if d.Spec.Replicas == nil {
		return 1, nil
	}
	return int(*d.Spec.Replicas), nil
}

// scale sets the replicas through the scale subresource; at 0 it waits
// until no server pod is left, so nothing holds a database connection.
func (e *Environment) scale(ctx context.Context, n int) error {
	d, err := e.serverDeployment(ctx)
	if err != nil {
		return err
	}
	deps := e.cluster.Clientset.AppsV1().Deployments(e.ns)
	// The controller updates the Deployment's status meanwhile: retry on
	// a conflicting resource version, as kubectl scale does.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sc, err := deps.GetScale(ctx, d.Name, metav1.GetOptions{})
		if err != nil || sc.Spec.Replicas == int32(n) {
			return err
		}
		sc = &autoscalingv1.Scale{ObjectMeta: sc.ObjectMeta, Spec: autoscalingv1.ScaleSpec{Replicas: int32(n)}}
		_, err = deps.UpdateScale(ctx, d.Name, sc, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("scale %s to %d: %w", d.Name, n, err)
	}
	if n > 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, e.opts.ReadyTimeout)
	defer cancel()
	for {
		left, err := e.serverPodCount(ctx)
		if err == nil && left == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("scale %s to 0: %d pods still there after %s (%v)", d.Name, left, e.opts.ReadyTimeout, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// serverPodCount counts every pod of the server, terminating ones included.
func (e *Environment) serverPodCount(ctx context.Context) (int, error) {
	d, err := e.serverDeployment(ctx)
	if err != nil {
		return 0, err
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return 0, fmt.Errorf("selector of %s: %w", d.Name, err)
	}
	pods, err := e.cluster.Clientset.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return 0, fmt.Errorf("list pods of %s: %w", d.Name, err)
	}
	return len(pods.Items), nil
}

// currentPods are the live pods of the Deployment's current ReplicaSet
// (the rollout of the release that runs now), oldest first.
func (e *Environment) currentPods(ctx context.Context) (*appsv1.Deployment, []corev1.Pod, error) {
	d, err := e.serverDeployment(ctx)
	if err != nil {
		return nil, nil, err
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, nil, fmt.Errorf("selector of %s: %w", d.Name, err)
	}
	rss, err := e.cluster.Clientset.AppsV1().ReplicaSets(e.ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, nil, fmt.Errorf("list replica sets of %s: %w", d.Name, err)
	}
	want := d.Annotations["deployment.kubernetes.io/revision"]
	hash := ""
	for _, rs := range rss.Items {
		if metav1.IsControlledBy(&rs, d) && rs.Annotations["deployment.kubernetes.io/revision"] == want {
			hash = rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
		}
	}
	if hash == "" {
		return d, nil, nil
	}
	pods, err := e.cluster.Clientset.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String() + "," + appsv1.DefaultDeploymentUniqueLabelKey + "=" + hash})
	if err != nil {
		return nil, nil, fmt.Errorf("list pods of %s: %w", d.Name, err)
	}
	var live []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			live = append(live, p)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].CreationTimestamp.Before(&live[j].CreationTimestamp) })
	return d, live, nil
}

// waitRollout waits like `kubectl rollout status`: every replica updated
// and available, no old one left.
func (e *Environment) waitRollout(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		d, err := e.serverDeployment(ctx)
		if err == nil {
			if rolledOut(d) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			detail := ""
			if _, pods, perr := e.currentPods(context.WithoutCancel(ctx)); perr == nil {
				detail = describePods(pods)
			}
			if err != nil {
				detail = ": " + err.Error() + detail
			}
			return fmt.Errorf("server rollout not ready after %s%s", timeout, detail)
		case <-time.After(time.Second):
		}
	}
}

func podReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podState is what the health observation reads from one pod.
type podState struct {
	ready    bool
	restarts int
	crashing bool
	detail   string
}

func readPod(p *corev1.Pod) podState {
	st := podState{ready: podReady(p)}
	var details []string
	for _, cs := range p.Status.ContainerStatuses {
		st.restarts += int(cs.RestartCount)
		if w := cs.State.Waiting; w != nil {
			if w.Reason == "CrashLoopBackOff" || w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff" || w.Reason == "CreateContainerConfigError" {
				st.crashing = st.crashing || w.Reason == "CrashLoopBackOff"
				details = append(details, fmt.Sprintf("%s waiting: %s %s", cs.Name, w.Reason, w.Message))
			}
		}
		if t := cs.State.Terminated; t != nil {
			st.crashing = true
			details = append(details, fmt.Sprintf("%s terminated: %s exit %d %s", cs.Name, t.Reason, t.ExitCode, t.Message))
		}
		if t := cs.LastTerminationState.Terminated; t != nil {
			details = append(details, fmt.Sprintf("%s last exit: %s exit %d %s", cs.Name, t.Reason, t.ExitCode, strings.TrimSpace(t.Message)))
		}
	}
	if !st.ready {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Message != "" {
				details = append(details, c.Message)
			}
		}
	}
	st.detail = p.Name + ": " + strings.Join(details, "; ")
	return st
}

func describePods(pods []corev1.Pod) string {
	var b strings.Builder
	for i := range pods {
		fmt.Fprintf(&b, "\n  %s", readPod(&pods[i]).detail)
	}
	return b.String()
}

// ServerHealth implements env.Environment from pod conditions (readiness)
// and container statuses (restarts, crash loops) of the current rollout.
func (e *Environment) ServerHealth(ctx context.Context, o env.HealthOptions) (env.Health, error) {
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	if o.Grace < 0 {
		o.Grace = 0
	}
	start := time.Now()
	var h env.Health
	var readyAt time.Time
	for {
		e.mu.Lock()
		d, pods, err := e.currentPods(ctx)
		e.mu.Unlock()
		if err != nil {
			return h, fmt.Errorf("server health: %w", err)
		}
		want := 1
		if d.Spec.Replicas != nil {
			want = int(*d.Spec.Replicas)
		}
		if want == 0 {
			h.Detail = "the server is scaled to 0 replicas"
			return h, nil
		}
		allReady, restarts, crashing := len(pods) >= want, 0, false
		var details []string
		for i := range pods {
			ps := readPod(&pods[i])
			allReady = allReady && ps.ready
			restarts += ps.restarts
			crashing = crashing || ps.crashing
			details = append(details, ps.detail)
		}
		h.Restarts = max(h.Restarts, restarts)
		h.CrashLoop = h.CrashLoop || restarts > 0 || crashing
		now := time.Since(start)
		switch {
		case h.CrashLoop:
			h.Ready = false
			h.Detail = fmt.Sprintf("the server restarted %d times: %s%s", h.Restarts, strings.Join(details, " | "), e.readyzDetail(ctx, pods))
			return h, nil
		case !readyAt.IsZero() && !allReady:
			h.Ready = false
			h.Detail = fmt.Sprintf("ready after %.1fs, then not ready within the %s grace: %s%s", h.ReadySeconds, o.Grace, strings.Join(details, " | "), e.readyzDetail(ctx, pods))
			return h, nil
		case readyAt.IsZero() && allReady:
			readyAt = time.Now()
			h.ReadySeconds = now.Seconds()
		}
		if !readyAt.IsZero() && time.Since(readyAt) >= o.Grace {
			h.Ready = true
			return h, nil
		}
		if readyAt.IsZero() && now >= o.Timeout {
			h.Detail = fmt.Sprintf("%d of %d replicas ready after %s: %s%s", countReady(pods), want, o.Timeout, strings.Join(details, " | "), e.readyzDetail(ctx, pods))
			return h, nil
		}
		select {
		case <-ctx.Done():
			return h, fmt.Errorf("server health: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

func countReady(pods []corev1.Pod) int {
	n := 0
	for i := range pods {
		if podReady(&pods[i]) {
			n++
		}
	}
	return n
}

// readyzDetail asks an unready running pod's /readyz, for the answer the
// server gives (best effort: the pod may be gone).
func (e *Environment) readyzDetail(ctx context.Context, pods []corev1.Pod) string {
	for i := range pods {
		p := &pods[i]
		if p.Status.Phase != corev1.PodRunning || podReady(p) {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		e.mu.Lock()
		base, err := e.forwardTo(ctx, p)
		e.mu.Unlock()
		if err != nil {
			return ""
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
		return fmt.Sprintf("; /readyz of %s: %d %s", p.Name, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return ""
}

// serverURL forwards to a ready pod of the current rollout, else a running one.
func (e *Environment) serverURL(ctx context.Context) (string, error) {
	_, pods, err := e.currentPods(ctx)
	if err != nil {
		return "", fmt.Errorf("server URL: %w", err)
	}
	var pick *corev1.Pod
	for i := range pods {
		if podReady(&pods[i]) {
			pick = &pods[i]
			break
		}
		if pick == nil && pods[i].Status.Phase == corev1.PodRunning {
			pick = &pods[i]
		}
	}
	if pick == nil {
		return "", errors.New("server URL: no server pod is running")
	}
	return e.forwardTo(ctx, pick)
}

func (e *Environment) forwardTo(ctx context.Context, p *corev1.Pod) (string, error) {
	if f := e.srvFwd[p.Name]; f != nil && f.alive() {
		return fmt.Sprintf("http://127.0.0.1:%d", f.port), nil
	}
	port := 8080
	if e.current != nil && e.current.Port > 0 {
		port = e.current.Port
	} else if len(p.Spec.Containers) > 0 && len(p.Spec.Containers[0].Ports) > 0 {
		port = int(p.Spec.Containers[0].Ports[0].ContainerPort)
	}
	for name, f := range e.srvFwd {
		if !f.alive() {
			delete(e.srvFwd, name)
		}
	}
	f, err := startForward(ctx, e.cluster.Config, e.cluster.Clientset, e.ns, p.Name, port)
	if err != nil {
		return "", err
	}
	e.srvFwd[p.Name] = f
	return fmt.Sprintf("http://127.0.0.1:%d", f.port), nil
}

// ServerLogs implements env.Environment: the hook Job logs of the current
// rollout, then every container of every pod of the current ReplicaSet,
// with the previous container's logs first when it restarted.
func (e *Environment) ServerLogs(ctx context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, pods, err := e.currentPods(ctx)
	if err != nil {
		return "", fmt.Errorf("server logs: %w", err)
	}
	var b strings.Builder
	b.WriteString(e.hookLogs)
	var errs []error
	for _, p := range pods {
		for _, cs := range p.Status.ContainerStatuses {
			for _, previous := range []bool{true, false} {
				if previous && cs.RestartCount == 0 {
					continue
				}
				raw, err := e.cluster.Clientset.CoreV1().Pods(e.ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: cs.Name, Previous: previous}).DoRaw(ctx)
				if err != nil {
					if !apierrors.IsBadRequest(err) {
						errs = append(errs, fmt.Errorf("logs of %s/%s: %w", p.Name, cs.Name, err))
					}
					continue
				}
				b.Write(raw)
				if len(raw) > 0 && raw[len(raw)-1] != '\n' {
					b.WriteByte('\n')
				}
			}
		}
	}
	return b.String(), errors.Join(errs...)
}

// deleteVolumes deletes the release's PVCs (helm uninstall leaves a
// StatefulSet's claims behind).
func (e *Environment) deleteVolumes(ctx context.Context) error {
	sel := labels.Set{"app.kubernetes.io/instance": e.opts.ReleaseName}.String()
	err := e.cluster.Clientset.CoreV1().PersistentVolumeClaims(e.ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return fmt.Errorf("delete volumes labelled %s: %w", sel, err)
	}
	return nil
}

// ServerContainer is one running app server container: the node it runs on
// and its runtime ID (without the "containerd://" prefix).
type ServerContainer struct {
	Pod, Node, ID string
}

// ServerContainers lists the running containers of the current rollout's
// server pods, so a backend that can reach the nodes (kind) can crash them.
func (e *Environment) ServerContainers(ctx context.Context) ([]ServerContainer, error) {
	_, pods, err := e.currentPods(ctx)
	if err != nil {
		return nil, err
	}
	var out []ServerContainer
	for _, p := range pods {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Running == nil || cs.ContainerID == "" {
				continue
			}
			_, id, _ := strings.Cut(cs.ContainerID, "://")
			out = append(out, ServerContainer{Pod: p.Name, Node: p.Spec.NodeName, ID: id})
		}
	}
	return out, nil
}

// restartRollout starts new server pods from the same template (the
// restartedAt annotation of `kubectl rollout restart`) and returns once the
// controller has made the new rollout the current one.
func (e *Environment) restartRollout(ctx context.Context) error {
	d, err := e.serverDeployment(ctx)
	if err != nil {
		return err
	}
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"rehearse.dev/restartedAt":%q}}}}}`, time.Now().UTC().Format(time.RFC3339Nano))
	deps := e.cluster.Clientset.AppsV1().Deployments(e.ns)
	name := d.Name
	d, err = deps.Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("restart %s: %w", name, err)
	}
	gen := d.Generation
	ctx, cancel := context.WithTimeout(ctx, e.opts.ReadyTimeout)
	defer cancel()
	for {
		cur, err := deps.Get(ctx, name, metav1.GetOptions{})
		if err == nil && cur.Status.ObservedGeneration >= gen {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("restart %s: the controller did not pick up the new rollout within %s (%v)", name, e.opts.ReadyTimeout, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// rolledOut: the Deployment's current template runs on every replica it
// wants, all available.
func rolledOut(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.Replicas == want && s.AvailableReplicas == want
}
