package roles

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads production's roles from path: the output of
// `pg_dumpall --roles-only` (SQL), or YAML:
//
//	roles:
//	  - name: app
//	    login: true
//	    memberOf: [readers]
//
// Errors name the file and line and say what to fix.
func Load(path string) ([]Role, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read roles file: %w", err)
	}
	ext := strings.ToLower(filepath.Ext(path))
	var roles []Role
	if ext == ".yaml" || ext == ".yml" || yamlRolesRe.Match(b) {
		roles, err = parseYAML(path, b)
	} else {
		roles, err = parseDump(path, string(b))
	}
	if err != nil {
		return nil, err
	}
	if len(roles) == 0 {
		return nil, fmt.Errorf("%s: no roles in the file; give the output of `pg_dumpall --roles-only` or a YAML `roles:` list", path)
	}
	seen := map[string]int{}
	for _, r := range roles {
		if l, ok := seen[r.Name]; ok {
			return nil, fmt.Errorf("%s:%d: role %s is declared twice (first at line %d); keep one", path, r.Line, r.Name, l)
		}
		seen[r.Name] = r.Line
	}
	return roles, nil
}

var yamlRolesRe = regexp.MustCompile(`(?m)^roles:`)

var yamlLineRe = regexp.MustCompile(`line (\d+): (.*)`)

// yamlErr turns yaml.v3's "unmarshal errors:\n  line 3: ..." into
// "file:3: ...". line, when not 0, replaces the line yaml gives (which
// counts from a re-encoded node).
func yamlErr(path string, line int, err error) string {
	m := yamlLineRe.FindStringSubmatch(err.Error())
	if m == nil {
		if line > 0 {
			return fmt.Sprintf("%s:%d: %s", path, line, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return fmt.Sprintf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if line > 0 {
		return fmt.Sprintf("%s:%d: role: %s", path, line, m[2])
	}
	return fmt.Sprintf("%s:%s: %s", path, m[1], m[2])
}

type yamlRole struct {
	Name        string   `yaml:"name"`
	Login       bool     `yaml:"login"`
	Inherit     *bool    `yaml:"inherit"`
	Superuser   bool     `yaml:"superuser"`
	CreateDB    bool     `yaml:"createdb"`
	CreateRole  bool     `yaml:"createrole"`
	Replication bool     `yaml:"replication"`
	BypassRLS   bool     `yaml:"bypassrls"`
	MemberOf    []string `yaml:"memberOf"`
}

func parseYAML(path string, b []byte) ([]Role, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var doc struct {
		Roles []yaml.Node `yaml:"roles"`
	}
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s; the file is a YAML `roles:` list of {name, login, inherit, superuser, createdb, createrole, replication, bypassrls, memberOf}", yamlErr(path, 0, err))
	}
	var out []Role
	for _, n := range doc.Roles {
		var y yamlRole
		// Decoding a node does not check field names; a strict decoder of
		// the node's own text does, with the node's line.
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		if err := enc.Encode(&n); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n.Line, err)
		}
		d := yaml.NewDecoder(&buf)
		d.KnownFields(true)
		if err := d.Decode(&y); err != nil {
			return nil, fmt.Errorf("%s; known keys: name, login, inherit, superuser, createdb, createrole, replication, bypassrls, memberOf", yamlErr(path, n.Line, err))
		}
		if y.Name == "" {
			return nil, fmt.Errorf("%s:%d: role without a name; add `name: <role>`", path, n.Line)
		}
		r := Role{Name: y.Name, Login: y.Login, Inherit: y.Inherit == nil || *y.Inherit, Superuser: y.Superuser,
			CreateDB: y.CreateDB, CreateRole: y.CreateRole, Replication: y.Replication, BypassRLS: y.BypassRLS,
			MemberOf: y.MemberOf, File: path, Line: n.Line}
		out = append(out, r)
	}
	return out, nil
}

// parseDump reads the statements pg_dumpall --roles-only writes: CREATE
// ROLE, ALTER ROLE ... WITH, GRANT role TO role; SET, COMMENT, psql
// meta-commands and per-role settings are skipped. Passwords are ignored.
func parseDump(path, text string) ([]Role, error) {
	byName := map[string]*Role{}
	var order []string
	get := func(name string, line int) *Role {
		r, ok := byName[name]
		if !ok {
			// PostgreSQL's default for a role is INHERIT.
			r = &Role{Name: name, Inherit: true, File: path, Line: line}
			byName[name] = r
			order = append(order, name)
		}
		return r
	}
	for _, st := range statements(text) {
		toks := tokens(st.text)
		if len(toks) == 0 {
			continue
		}
		bad := func(what string) error {
			return fmt.Errorf("%s:%d: %s in %q; a roles file is the output of `pg_dumpall --roles-only` (CREATE ROLE, ALTER ROLE, GRANT role TO role) or a YAML `roles:` list", path, st.line, what, oneLine(st.text))
		}
		kw := func(i int) string {
			if i < len(toks) {
				return strings.ToUpper(toks[i])
			}
			return ""
		}
		switch {
		case kw(0) == "CREATE" && (kw(1) == "ROLE" || kw(1) == "USER"):
			if len(toks) < 3 {
				return nil, bad("CREATE ROLE without a name")
			}
			r := get(ident(toks[2]), st.line)
			if kw(1) == "USER" {
				r.Login = true
			}
			if err := applyOptions(r, toks[3:]); err != nil {
				return nil, bad(err.Error())
			}
		case kw(0) == "ALTER" && (kw(1) == "ROLE" || kw(1) == "USER"):
			if len(toks) < 3 {
				return nil, bad("ALTER ROLE without a name")
			}
			if kw(3) == "SET" || kw(3) == "RESET" || kw(3) == "IN" || kw(3) == "RENAME" {
				continue // per-role settings: not an attribute
			}
			r := get(ident(toks[2]), st.line)
			if err := applyOptions(r, toks[3:]); err != nil {
				return nil, bad(err.Error())
			}
		case kw(0) == "GRANT":
			// GRANT parent[, ...] TO member[, ...] [WITH ...] [GRANTED BY ...]
			to := -1
			for i, t := range toks {
				if strings.EqualFold(t, "TO") {
					to = i
					break
				}
			}
			if to < 2 || strings.EqualFold(toks[2], "ON") || to+1 >= len(toks) {
				return nil, bad("not a role membership (GRANT role TO role)")
			}
			var parents, members []string
			for _, t := range toks[1:to] {
				if t != "," {
					parents = append(parents, ident(t))
				}
			}
			for _, t := range toks[to+1:] {
				if u := strings.ToUpper(t); u == "WITH" || u == "GRANTED" {
					break
				}
				if t != "," {
					members = append(members, ident(t))
				}
			}
			for _, m := range members {
				r := get(m, st.line)
				r.MemberOf = append(r.MemberOf, parents...)
			}
		case kw(0) == "SET", kw(0) == "COMMENT", kw(0) == "SECURITY", kw(0) == "RESET", kw(0) == "SELECT":
			continue
		default:
			return nil, bad("unexpected statement")
		}
	}
	out := make([]Role, 0, len(order))
	for _, n := range order {
		out = append(out, *byName[n])
	}
	return out, nil
}

// applyOptions sets r's attributes from CREATE/ALTER ROLE options.
func applyOptions(r *Role, toks []string) error {
	for i := 0; i < len(toks); i++ {
		t := strings.ToUpper(toks[i])
		switch t {
		case "WITH":
		case "LOGIN", "NOLOGIN":
			r.Login = t == "LOGIN"
		case "INHERIT", "NOINHERIT":
			r.Inherit = t == "INHERIT"
		case "SUPERUSER", "NOSUPERUSER":
			r.Superuser = t == "SUPERUSER"
		case "CREATEDB", "NOCREATEDB":
			r.CreateDB = t == "CREATEDB"
		case "CREATEROLE", "NOCREATEROLE":
			r.CreateRole = t == "CREATEROLE"
		case "REPLICATION", "NOREPLICATION":
			r.Replication = t == "REPLICATION"
		case "BYPASSRLS", "NOBYPASSRLS":
			r.BypassRLS = t == "BYPASSRLS"
		case "PASSWORD", "ENCRYPTED":
			if t == "ENCRYPTED" {
				i++ // ENCRYPTED PASSWORD 'x'
			}
			i++ // the password itself: never read
		case "VALID":
			i += 2 // VALID UNTIL 'ts'
		case "CONNECTION":
			i += 2 // CONNECTION LIMIT n
		default:
			return fmt.Errorf("unknown role option %s", toks[i])
		}
	}
	return nil
}

type statement struct {
	text string
	line int
}

// statements cuts text into ';'-terminated statements with their first
// line, skipping comments and psql meta-commands (\connect, \restrict).
func statements(text string) []statement {
	var out []statement
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "--") || strings.HasPrefix(trimmed, `\`)) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if endsStatement(cur.String()) {
			out = append(out, statement{text: strings.TrimSpace(cur.String()), line: start})
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, statement{text: strings.TrimSpace(cur.String()), line: start})
	}
	return out
}

// endsStatement reports whether s ends with a ';' outside quotes.
func endsStatement(s string) bool {
	inS, inD := false, false
	last := rune(0)
	for _, c := range s {
		switch {
		case c == '\'' && !inD:
			inS = !inS
		case c == '"' && !inS:
			inD = !inD
		}
		if c != ' ' && c != '\n' && c != '\t' && c != '\r' {
			last = c
		}
	}
	return !inS && !inD && last == ';'
}

var tokenRe = regexp.MustCompile(`"(?:[^"]|"")*"|'(?:[^']|'')*'|,|[^\s,;]+`)

func tokens(s string) []string { return tokenRe.FindAllString(s, -1) }

// ident unquotes a "quoted" identifier and folds a bare one to lower case.
func ident(t string) string {
	if strings.HasPrefix(t, `"`) && strings.HasSuffix(t, `"`) && len(t) >= 2 {
		return strings.ReplaceAll(t[1:len(t)-1], `""`, `"`)
	}
	return strings.ToLower(t)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
