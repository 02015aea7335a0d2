package kind

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

// nodeImageID is the ID (config digest) of image on node n, as `docker
// image inspect` gives it locally. kind's nodeutils.ImageID asks crictl,
// which some node images lack (this repository's offline one); then the
// node's containerd is asked with ctr, which every kind node has. Without
// it a reused cluster would load every image again on every run.
func nodeImageID(n nodes.Node, image string) (string, error) {
	if id, err := nodeutils.ImageID(n, image); err == nil {
		return id, nil
	}
	ref := containerdRef(image)
	if !safeRef.MatchString(ref) {
		return "", fmt.Errorf("image reference %q: unexpected characters", image)
	}
	// The manifest of the image's name, then its config digest.
	script := `d=$(ctr --namespace k8s.io images list "name==` + ref + `" | awk 'NR==2 {print $3}') && [ -n "$d" ] && ctr --namespace k8s.io content get "$d"`
	var out bytes.Buffer
	if err := n.Command("sh", "-c", script).SetStdout(&out).Run(); err != nil {
		return "", fmt.Errorf("image %s on node %s: %w", ref, n.String(), err)
	}
	var m struct {
		Config struct {
			Digest string `json:"digest"`
		} `json:"config"`
	}
	if err := json.Unmarshal(out.Bytes(), &m); err != nil || m.Config.Digest == "" {
		return "", fmt.Errorf("image %s on node %s: no single-platform manifest (%v)", ref, n.String(), err)
	}
	return m.Config.Digest, nil
}

var safeRef = regexp.MustCompile(`^[a-z0-9][a-z0-9._/:@-]*$`)

// containerdRef is image's fully qualified name, as containerd lists it:
// docker.io/library/postgres:15 for postgres:15.
func containerdRef(image string) string {
	ref := image
	first, _, slash := strings.Cut(ref, "/")
	if !slash || !strings.ContainsAny(first, ".:") && first != "localhost" {
		if !slash {
			ref = "library/" + ref
		}
		ref = "docker.io/" + ref
	}
	last := ref[strings.LastIndex(ref, "/")+1:]
	if !strings.ContainsAny(last, ":@") {
		ref += ":latest"
	}
	return ref
}
