package scenario

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgadmin"
	"github.com/rehearse-dev/rehearse/harness/procedure"
	"github.com/rehearse-dev/rehearse/harness/roles"
)

// Problem is one thing wrong with a scenario file.
type Problem struct {
	Line  int
	Field string // e.g. spec.releases.from.version
	Msg   string
}

// Error lists every problem of a file, one per line as file:line: field: msg.
type Error struct {
	File     string
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		loc := e.File
		if p.Line > 0 {
			loc = fmt.Sprintf("%s:%d", e.File, p.Line)
		}
		if p.Field != "" {
			lines[i] = fmt.Sprintf("%s: %s: %s", loc, p.Field, p.Msg)
		} else {
			lines[i] = fmt.Sprintf("%s: %s", loc, p.Msg)
		}
	}
	return strings.Join(lines, "\n")
}

// UnmarshalYAML reads "30s", "2m".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration: write e.g. 30s or 2m", n.Line, n.Value)
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the duration back as text.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Load reads and validates a scenario file. Backend-specific requirements
// are checked by ForBackend.
func Load(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(path, b)
}

// Parse validates a scenario read from path (relative paths in it resolve
// against path's folder).
func Parse(path string, b []byte) (*Scenario, error) {
	v := &validator{file: path}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		v.yamlError(err)
		return nil, v.err()
	}
	if len(root.Content) == 0 {
		v.add(0, "", "the file is empty: start with `apiVersion: %s` and `kind: %s`", APIVersion, Kind)
		return nil, v.err()
	}
	doc := root.Content[0]
	v.root = doc
	v.known(doc, reflect.TypeOf(Scenario{}), "")
	s := &Scenario{}
	if err := doc.Decode(s); err != nil {
		v.yamlError(err)
	}
	if len(v.problems) > 0 {
		return nil, v.err()
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	s.File, s.Dir = path, filepath.Dir(abs)
	v.validate(s)
	if len(v.problems) > 0 {
		return nil, v.err()
	}
	s.defaults()
	return s, nil
}

// Abs resolves a path of the file against the file's folder.
func (s *Scenario) Abs(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(s.Dir, p)
}

func (s *Scenario) defaults() {
	if s.Spec.Backend == "" {
		s.Spec.Backend = "local"
	}
	if len(s.Spec.Procedures) == 0 {
		for _, name := range Procedures {
			s.Spec.Procedures = append(s.Spec.Procedures, ProcedureEntry{Name: name})
		}
	}
	if s.Spec.Checks.ReadyTimeout.Duration == 0 {
		s.Spec.Checks.ReadyTimeout.Duration = 60 * time.Second
	}
	if s.Spec.Checks.Grace.Duration == 0 {
		s.Spec.Checks.Grace.Duration = 5 * time.Second
	}
	if s.Spec.Policy.Procedures == nil {
		s.Spec.Policy.Procedures = map[string]string{"full-restore": "recovered"}
	}
	for _, r := range []*Release{&s.Spec.Releases.From, &s.Spec.Releases.To} {
		if r.Server.Port == 0 {
			r.Server.Port = 8080
		}
	}
}

// ForBackend checks what backend needs of the releases (a binary or a
// build for local, an image for docker, a chart for kind and kube).
func (s *Scenario) ForBackend(backend string) error {
	v := &validator{file: s.File, root: s.node()}
	if !slices.Contains(Backends, backend) {
		v.add(v.line("spec", "backend"), "spec.backend", "unknown backend %q: use one of %s", backend, strings.Join(Backends, ", "))
		return v.err()
	}
	for _, side := range []string{"from", "to"} {
		r := s.Spec.Releases.From
		if side == "to" {
			r = s.Spec.Releases.To
		}
		field := "spec.releases." + side + ".server"
		line := v.line("spec", "releases", side, "server")
		switch backend {
		case "local":
			if r.Server.Binary == "" && r.Server.Build == nil {
				v.add(line, field, "the local backend runs the server as a process: set server.binary (a built executable) or server.build (module, package, ldflags)")
			}
		case "docker":
			if r.Server.Image == "" {
				v.add(line, field+".image", "the docker backend runs the server as a container: set server.image (e.g. rehearse-sample/app:%s, built with `make images`)", r.Name)
			}
		case "kind", "kube":
			if r.Chart.Path == "" {
				v.add(line, "spec.releases."+side+".chart.path", "the %s backend installs a Helm chart: set chart.path", backend)
			}
		}
	}
	return v.err()
}

// node re-reads the file for line numbers (ForBackend runs after Load).
func (s *Scenario) node() *yaml.Node {
	b, err := os.ReadFile(s.File)
	if err != nil {
		return nil
	}
	var root yaml.Node
	if yaml.Unmarshal(b, &root) != nil || len(root.Content) == 0 {
		return nil
	}
	return root.Content[0]
}

type validator struct {
	file     string
	root     *yaml.Node
	problems []Problem
}

func (v *validator) add(line int, field, format string, args ...any) {
	v.problems = append(v.problems, Problem{Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	return &Error{File: v.file, Problems: v.problems}
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// yamlError turns yaml.v3's "line N: ..." messages into problems.
func (v *validator) yamlError(err error) {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		if sm := yamlLine.FindStringSubmatch(m); sm != nil {
			n, _ := strconv.Atoi(sm[1])
			v.add(n, "", "%s", sm[2])
			continue
		}
		v.add(0, "", "%s", strings.TrimPrefix(m, "yaml: "))
	}
}

// line finds the line of the field at path (mapping keys, or sequence
// indexes as numbers); the nearest existing parent's line when it is missing.
func (v *validator) line(path ...string) int {
	n := v.root
	if n == nil {
		return 0
	}
	line := n.Line
	for _, p := range path {
		keyLine, next := child(n, p)
		if next == nil {
			return line
		}
		n, line = next, keyLine
	}
	return line
}

// child returns the value at key (a mapping key or a sequence index) and
// the line where it is named.
func child(n *yaml.Node, key string) (int, *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i].Line, n.Content[i+1]
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(key); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i].Line, n.Content[i]
		}
	}
	return 0, nil
}

// known reports mapping keys that are not fields of t (typos would
// otherwise be ignored silently).
func (v *validator) known(n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeOf(Duration{}):
		return
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := map[string]reflect.StructField{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			fields[tag] = f
			names = append(names, tag)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			f, ok := fields[k.Value]
			if !ok {
				v.add(k.Line, join(path, k.Value), "unknown field: use one of %s", strings.Join(names, ", "))
				continue
			}
			v.known(n.Content[i+1], f.Type, join(path, k.Value))
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			v.known(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

func (v *validator) validate(s *Scenario) {
	if s.APIVersion != APIVersion {
		v.add(v.line("apiVersion"), "apiVersion", "is %q: this rehearse reads %q", s.APIVersion, APIVersion)
	}
	if s.Kind != Kind {
		v.add(v.line("kind"), "kind", "is %q: want %q", s.Kind, Kind)
	}
	if !nameRE.MatchString(s.Metadata.Name) || len(s.Metadata.Name) > 63 {
		v.add(v.line("metadata", "name"), "metadata.name", "%q: give a name of lower-case letters, digits, '-' and '.' (at most 63), e.g. sample-1.0-to-1.1", s.Metadata.Name)
	}
	sp := &s.Spec
	if sp.Backend != "" && !slices.Contains(Backends, sp.Backend) {
		v.add(v.line("spec", "backend"), "spec.backend", "unknown backend %q: use one of %s", sp.Backend, strings.Join(Backends, ", "))
	}
	v.migrations(s)
	v.release(s, "from", &sp.Releases.From)
	v.release(s, "to", &sp.Releases.To)
	if sp.Releases.From.Name != "" && sp.Releases.From.Name == sp.Releases.To.Name {
		v.add(v.line("spec", "releases", "to", "name"), "spec.releases.to.name", "is %q like releases.from: a rehearsal goes from one release to another", sp.Releases.To.Name)
	}
	if (sp.Releases.From.GitRef == "") != (sp.Releases.To.GitRef == "") {
		v.add(v.line("spec", "releases"), "spec.releases", "give gitRef on both releases or on neither")
	}
	if sp.Data.Rows < 0 {
		v.add(v.line("spec", "data", "rows"), "spec.data.rows", "%d: want 0 (default 200) or more", sp.Data.Rows)
	}
	if sp.Data.Profile != "" {
		v.exists(s, sp.Data.Profile, "spec.data.profile", "spec", "data", "profile")
	}
	if sp.Data.From != "" && !sp.Data.FromIsDSN() {
		v.exists(s, sp.Data.From, "spec.data.from", "spec", "data", "from")
	}
	if sp.Data.Sample < 0 || sp.Data.Sample > 1 {
		v.add(v.line("spec", "data", "sample"), "spec.data.sample", "%v: want a fraction between 0 and 1 (0.1 keeps about a tenth of the rows)", sp.Data.Sample)
	}
	if sp.Data.From == "" && (sp.Data.Sample != 0 || sp.Data.AllowDrift) {
		v.add(v.line("spec", "data"), "spec.data", "sample and allowDrift go with from (a dump or DSN)")
	}
	v.procedures(s, procedure.Known{Abs: s.Abs})
	v.smoke(sp.Smoke)
	v.faults(s, sp.Faults)
	if sp.Checks.ReadyTimeout.Duration < 0 || sp.Checks.Grace.Duration < 0 {
		v.add(v.line("spec", "checks"), "spec.checks", "durations must not be negative")
	}
	if sp.Policy.File != "" {
		v.exists(s, sp.Policy.File, "spec.policy.file", "spec", "policy", "file")
	}
	v.roles(s)
	for name, verdict := range sp.Policy.Procedures {
		line := v.line("spec", "policy", "procedures", name)
		if names := s.ProcedureNames(); !slices.Contains(names, name) {
			v.add(line, "spec.policy.procedures."+name, "unknown procedure: the scenario runs %s", strings.Join(names, ", "))
		}
		if !slices.Contains(Verdicts, verdict) {
			v.add(line, "spec.policy.procedures."+name, "%q: the worst allowed verdict is one of %s", verdict, strings.Join(Verdicts, ", "))
		}
	}
}

// roles checks spec.roles (the file must load), spec.migrateAs and
// spec.searchPath.
func (v *validator) roles(s *Scenario) {
	sp := &s.Spec
	if sp.SearchPath != "" {
		if _, err := pgadmin.CheckSearchPath(sp.SearchPath); err != nil {
			v.add(v.line("spec", "searchPath"), "spec.searchPath", "%v", err)
		}
	}
	var declared []roles.Role
	if sp.Roles != "" {
		rs, err := roles.Load(s.Abs(sp.Roles))
		if err != nil {
			v.add(v.line("spec", "roles"), "spec.roles", "%v", err)
		}
		declared = rs
	}
	if sp.MigrateAs == "" {
		return
	}
	line := v.line("spec", "migrateAs")
	if len(sp.MigrateAs) > 63 {
		v.add(line, "spec.migrateAs", "%q is longer than a PostgreSQL role name can be (63)", sp.MigrateAs)
	}
	if sp.Roles != "" && declared != nil && !slices.ContainsFunc(declared, func(r roles.Role) bool { return r.Name == sp.MigrateAs }) {
		v.add(line, "spec.migrateAs", "role %q is not in %s: add it there (the harness creates production's roles from that file)", sp.MigrateAs, sp.Roles)
	}
}

func (v *validator) exists(s *Scenario, p, field string, path ...string) {
	if _, err := os.Stat(s.Abs(p)); err != nil {
		v.add(v.line(path...), field, "%s does not exist (paths are relative to the scenario file's folder %s)", p, s.Dir)
	}
}

func (v *validator) migrations(s *Scenario) {
	m := s.Spec.Migrations
	if m.Path == "" {
		v.add(v.line("spec", "migrations"), "spec.migrations.path", "missing: the folder of the migration files, relative to this file")
	} else if s.Spec.Releases.From.GitRef == "" {
		if fi, err := os.Stat(s.Abs(m.Path)); err != nil || !fi.IsDir() {
			v.add(v.line("spec", "migrations", "path"), "spec.migrations.path", "%s is not a folder (paths are relative to the scenario file's folder %s)", m.Path, s.Dir)
		}
	}
	if m.Layout != "" && !slices.Contains(migrate.LayoutNames(), m.Layout) {
		v.add(v.line("spec", "migrations", "layout"), "spec.migrations.layout", "unknown layout %q: use one of %s, or leave it out to detect it", m.Layout, strings.Join(migrate.LayoutNames(), ", "))
	}
	if m.Bookkeeping != "" && !slices.Contains(migrate.BookkeepingNames, m.Bookkeeping) {
		v.add(v.line("spec", "migrations", "bookkeeping"), "spec.migrations.bookkeeping", "unknown bookkeeping %q: use one of %s", m.Bookkeeping, strings.Join(migrate.BookkeepingNames, ", "))
	}
}

var versionRE = regexp.MustCompile(`^[0-9]+([._][0-9]+)*$`)

func (v *validator) release(s *Scenario, side string, r *Release) {
	base := "spec.releases." + side
	if r.Name == "" {
		v.add(v.line("spec", "releases", side), base+".name", "missing: the release's name, e.g. \"1.0\"")
	}
	switch {
	case r.Version != "" && !versionRE.MatchString(r.Version):
		v.add(v.line("spec", "releases", side, "version"), base+".version", "%q is not a migration version (digits, e.g. \"000003\", or Flyway's \"1.1\")", r.Version)
	case r.Version == "" && r.GitRef == "" && r.Name != "" && s.Spec.Migrations.Path != "":
		versions, err := releaseVersions(s.Abs(s.Spec.Migrations.Path))
		if err != nil {
			v.add(v.line("spec", "releases", side), base+".version", "missing, and %v", err)
		} else if ver, ok := versions[r.Name]; ok {
			r.Version = ver
		} else {
			v.add(v.line("spec", "releases", side, "name"), base+".version", "missing, and release %q is not in %s/releases.yaml: set version to its last migration version", r.Name, s.Spec.Migrations.Path)
		}
	}
	srv := r.Server
	if srv.Build != nil && srv.Build.Package == "" {
		v.add(v.line("spec", "releases", side, "server", "build"), base+".server.build.package", "missing: the Go package of the server, e.g. ./fixtures/app")
	}
	if srv.Binary != "" && srv.Build != nil {
		v.add(v.line("spec", "releases", side, "server"), base+".server", "give binary or build, not both")
	}
	if srv.Port < 0 || srv.Port > 65535 {
		v.add(v.line("spec", "releases", side, "server", "port"), base+".server.port", "%d is not a port", srv.Port)
	}
	if r.OldQueries != "" {
		v.exists(s, r.OldQueries, base+".oldQueries", "spec", "releases", side, "oldQueries")
	}
}

var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}

func (v *validator) smoke(reqs []SmokeRequest) {
	saved := map[string]bool{}
	for i, r := range reqs {
		f := fmt.Sprintf("spec.smoke[%d]", i)
		line := v.line("spec", "smoke", strconv.Itoa(i))
		if !slices.Contains(methods, r.Method) {
			v.add(line, f+".method", "%q: use one of %s", r.Method, strings.Join(methods, ", "))
		}
		if !strings.HasPrefix(r.Path, "/") {
			v.add(line, f+".path", "%q: give the path from the server's root, starting with /", r.Path)
		}
		if r.Expect != 0 && (r.Expect < 100 || r.Expect > 599) {
			v.add(line, f+".expect", "%d is not an HTTP status", r.Expect)
		}
		for _, ref := range placeholders(r.Path + r.Body) {
			name, _, ok := strings.Cut(ref, ".")
			if ref != "unique" && (!ok || !saved[name]) {
				v.add(line, f, "${%s}: no earlier request saves %q (use save: NAME on it, then ${NAME.field})", ref, name)
			}
		}
		if r.Save != "" {
			saved[r.Save] = true
		}
	}
}

var placeholderRE = regexp.MustCompile(`\$\{([^}]+)\}`)

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// releaseVersions reads dir/releases.yaml: release name -> last version.
func releaseVersions(dir string) (map[string]string, error) {
	path := filepath.Join(dir, "releases.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s cannot be read to look the release up (%v)", path, err)
	}
	var doc struct {
		Releases []struct {
			Name string `yaml:"name"`
			Last string `yaml:"last"`
		} `yaml:"releases"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	out := map[string]string{}
	for _, r := range doc.Releases {
		out[r.Name] = r.Last
	}
	return out, nil
}
