package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// gitTimeout bounds each git command: they read local objects only.
const gitTimeout = 30 * time.Second

// LoadGit reads the migration set in folder dir of repoDir's git repository
// at ref (a tag, branch or commit), without touching the work tree. dir is
// relative to repoDir (or absolute inside the repository). Script.File is
// "REF:dir/name".
func LoadGit(ctx context.Context, repoDir, ref, dir string, opts Options) (*Set, error) {
	if ref == "" {
		return nil, fmt.Errorf("git ref is empty: name a tag, branch or commit, e.g. --from v1.4.0")
	}
	top, treePath, err := gitTreePath(ctx, repoDir, dir)
	if err != nil {
		return nil, err
	}
	commit, err := git(ctx, repoDir, "rev-parse", "--verify", "--end-of-options", ref+"^{commit}")
	if err != nil {
		return nil, fmt.Errorf("git ref %q: not found in %s (%v); check the name with 'git tag' and 'git branch -a', and fetch it first (in CI: a full clone with tags, e.g. actions/checkout fetch-depth: 0)", ref, repoDir, err)
	}
	commit = strings.TrimSpace(commit)
	source := ref + ":" + filepath.ToSlash(filepath.Clean(dir))
	// Run from the top level: in a subfolder, ls-tree lists only the
	// entries under that subfolder's own path.
	out, err := git(ctx, top, "ls-tree", "-z", commit+":"+treePath)
	if err != nil {
		return nil, fmt.Errorf("%s: no such folder at %s (%v); check the path with 'git ls-tree %s'", source, ref, err, ref)
	}
	var files []sourceFile
	for _, entry := range strings.Split(out, "\x00") {
		// "<mode> <type> <object>\t<name>"
		meta, name, ok := strings.Cut(entry, "\t")
		if !ok {
			continue
		}
		f := strings.Fields(meta)
		if len(f) != 3 || f[1] != "blob" || strings.HasPrefix(name, ".") {
			continue
		}
		sf := sourceFile{name: name, path: source + "/" + name}
		if readable(name) {
			body, err := git(ctx, top, "cat-file", "blob", f[2])
			if err != nil {
				return nil, fmt.Errorf("read %s:%s: %w", ref, name, err)
			}
			sf.body = body
		}
		files = append(files, sf)
	}
	return build(source, files, opts)
}

// gitTreePath finds the repository's top level and turns dir into a path
// from it, which is what "COMMIT:path" needs.
func gitTreePath(ctx context.Context, repoDir, dir string) (top, treePath string, err error) {
	top, err = git(ctx, repoDir, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", "", fmt.Errorf("%s is not inside a git repository (%v); pass the repository with --repo or run from inside it", repoDir, err)
	}
	top = strings.TrimSpace(top)
	abs := dir
	if !filepath.IsAbs(dir) {
		base, err := filepath.Abs(repoDir)
		if err != nil {
			return "", "", fmt.Errorf("resolve %s: %w", repoDir, err)
		}
		abs = filepath.Join(base, dir)
	}
	// Compare resolved paths: git prints the top level with symlinks
	// resolved (e.g. /tmp -> /private/tmp).
	if r, err := filepath.EvalSymlinks(top); err == nil {
		top = r
	}
	if r, err := evalExisting(abs); err == nil {
		abs = r
	}
	rel, err := filepath.Rel(top, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", "", fmt.Errorf("migrations folder %s is outside the git repository %s; give a path inside it", dir, top)
	}
	rel = path.Clean(filepath.ToSlash(rel))
	if rel == "." {
		rel = ""
	}
	return top, rel, nil
}

// evalExisting resolves symlinks in the longest existing prefix of p (the
// folder may exist at the ref but not in the work tree).
func evalExisting(p string) (string, error) {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r, nil
	}
	parent := filepath.Dir(p)
	if parent == p {
		return p, nil
	}
	r, err := evalExisting(parent)
	if err != nil {
		return "", err
	}
	return filepath.Join(r, filepath.Base(p)), nil
}

func git(ctx context.Context, repoDir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repoDir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		var ee *exec.ExitError
		if msg == "" || !errors.As(err, &ee) {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", args[0], msg)
	}
	return stdout.String(), nil
}
