package seed

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/brianvoe/gofakeit/v7"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"gopkg.in/yaml.v3"
)

// Profile tunes the seeder for one application: volumes, column pins and
// extra name-to-generator rules. See docs/seed.md and fixtures/data/.
type Profile struct {
	// File is where the profile was read from, for error messages.
	File string
	// Rows is the default number of rows per table (0: Options.Rows).
	Rows int
	// Tables holds per-table settings, keyed by the name as written
	// ("certificates" or "public.certificates").
	Tables map[string]*TableProfile
	// Generators extend the built-in name-to-generator table; they are
	// tried first, in order.
	Generators []*GeneratorRule
	// Mask holds the masking rules for data loaded from a real source
	// (--data-from), in file order; harness/datasource reads and checks them.
	Mask []*MaskRule
	// Sample holds per-table sampling of a real source, in file order.
	Sample []*SampleRule
}

// SampleRule keeps Rows rows (or the Fraction of them) of Table from a real
// source, before referential closure pulls in the rows they reference.
type SampleRule struct {
	Table    string
	Rows     int64
	Fraction float64
	Line     int
}

// MaskRule masks one column ("table.column" or "schema.table.column") of
// a real source with Rule (e.g. "email", "keep-format", "faker:name").
type MaskRule struct {
	Column string
	Rule   string
	Line   int
}

// TableProfile is the profile of one table.
type TableProfile struct {
	Name    string
	Line    int
	Rows    int // 0: the default
	Columns map[string]*Pin
}

// Pin fixes how one column is generated. Exactly one of Faker, Values and
// SQL is set.
type Pin struct {
	Column string
	Line   int
	// Faker is a gofakeit function name as in its lookup table ("email",
	// "company", "uuid", ...).
	Faker string
	// Values is a fixed list; rows cycle through it at random.
	Values []string
	// SQL is an expression PostgreSQL evaluates once per row; `i` is the row
	// number from 1, e.g. `'user' || i || '@example.com'`.
	SQL string
}

// GeneratorRule maps column names matching Match to a generator, for every
// table.
type GeneratorRule struct {
	Line   int
	Match  string
	re     *regexp.Regexp
	Faker  string
	Values []string
}

const (
	pinnedName = "profile pin"
	nullMarker = "\x00NULL"
)

// LoadProfile reads a profile YAML file. Errors name the file, line, table
// and column.
func LoadProfile(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	return ParseProfile(path, data)
}

// ParseProfile parses profile YAML; file is used in error messages.
func ParseProfile(file string, data []byte) (*Profile, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	p := &Profile{File: file, Tables: map[string]*TableProfile{}}
	if len(doc.Content) == 0 {
		return p, nil
	}
	root := doc.Content[0]
	errf := func(n *yaml.Node, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", file, n.Line, fmt.Sprintf(format, args...))
	}
	if root.Kind != yaml.MappingNode {
		return nil, errf(root, "a profile is a mapping with keys rows, tables, generators")
	}
	for i := 0; i < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "rows":
			if err := v.Decode(&p.Rows); err != nil || p.Rows < 0 {
				return nil, errf(v, "rows: want a non-negative integer, got %q", v.Value)
			}
		case "tables":
			if v.Kind != yaml.MappingNode {
				return nil, errf(v, "tables: want a mapping of table name to settings")
			}
			for j := 0; j < len(v.Content); j += 2 {
				tp, err := parseTable(file, v.Content[j], v.Content[j+1])
				if err != nil {
					return nil, err
				}
				if _, dup := p.Tables[tp.Name]; dup {
					return nil, errf(v.Content[j], "table %s: listed twice", tp.Name)
				}
				p.Tables[tp.Name] = tp
			}
		case "generators":
			if v.Kind != yaml.SequenceNode {
				return nil, errf(v, "generators: want a list of {match, faker|values}")
			}
			for _, item := range v.Content {
				g, err := parseGenerator(file, item)
				if err != nil {
					return nil, err
				}
				p.Generators = append(p.Generators, g)
			}
		case "sample":
			if v.Kind != yaml.MappingNode {
				return nil, errf(v, "sample: want a mapping of table to a row count (1000) or a fraction (0.1)")
			}
			for j := 0; j < len(v.Content); j += 2 {
				sk, sv := v.Content[j], v.Content[j+1]
				r := &SampleRule{Table: sk.Value, Line: sk.Line}
				var f float64
				if err := sv.Decode(&f); err != nil || f < 0 {
					return nil, errf(sv, "sample %s: want a row count (1000) or a fraction (0.1), got %q", sk.Value, sv.Value)
				}
				if f < 1 {
					r.Fraction = f
				} else {
					r.Rows = int64(f)
				}
				p.Sample = append(p.Sample, r)
			}
		case "mask":
			if v.Kind != yaml.MappingNode {
				return nil, errf(v, "mask: want a mapping of table.column to a rule (email, keep-format, hash, null, faker:NAME)")
			}
			for j := 0; j < len(v.Content); j += 2 {
				mk, mv := v.Content[j], v.Content[j+1]
				if mv.Kind != yaml.ScalarNode || mv.Value == "" {
					return nil, errf(mv, "mask %s: want a rule name (email, keep-format, hash, null, faker:NAME)", mk.Value)
				}
				p.Mask = append(p.Mask, &MaskRule{Column: mk.Value, Rule: mv.Value, Line: mk.Line})
			}
		default:
			return nil, errf(k, "unknown key %q (want rows, tables, generators, mask or sample)", k.Value)
		}
	}
	return p, nil
}

func parseTable(file string, key, v *yaml.Node) (*TableProfile, error) {
	tp := &TableProfile{Name: key.Value, Line: key.Line, Columns: map[string]*Pin{}}
	errf := func(n *yaml.Node, format string, args ...any) error {
		return fmt.Errorf("%s:%d: table %s: %s", file, n.Line, tp.Name, fmt.Sprintf(format, args...))
	}
	if v.Kind != yaml.MappingNode {
		return nil, errf(v, "want a mapping with keys rows, columns")
	}
	for i := 0; i < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		switch k.Value {
		case "rows":
			if err := val.Decode(&tp.Rows); err != nil || tp.Rows < 0 {
				return nil, errf(val, "rows: want a non-negative integer, got %q", val.Value)
			}
		case "columns":
			if val.Kind != yaml.MappingNode {
				return nil, errf(val, "columns: want a mapping of column name to pin")
			}
			for j := 0; j < len(val.Content); j += 2 {
				pin, err := parsePin(file, tp.Name, val.Content[j], val.Content[j+1])
				if err != nil {
					return nil, err
				}
				tp.Columns[pin.Column] = pin
			}
		default:
			return nil, errf(k, "unknown key %q (want rows or columns)", k.Value)
		}
	}
	return tp, nil
}

func parsePin(file, table string, key, v *yaml.Node) (*Pin, error) {
	pin := &Pin{Column: key.Value, Line: key.Line}
	errf := func(n *yaml.Node, format string, args ...any) error {
		return fmt.Errorf("%s:%d: table %s, column %s: %s", file, n.Line, table, pin.Column, fmt.Sprintf(format, args...))
	}
	if v.Kind != yaml.MappingNode {
		return nil, errf(v, "want one of {faker: NAME}, {values: [...]}, {sql: EXPR}")
	}
	set := 0
	for i := 0; i < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		switch k.Value {
		case "faker":
			pin.Faker = val.Value
			if gofakeit.GetFuncLookup(pin.Faker) == nil {
				return nil, errf(val, "faker: unknown gofakeit function %q (see `gofakeit list` or docs/seed.md)", pin.Faker)
			}
		case "values":
			if err := val.Decode(&pin.Values); err != nil || len(pin.Values) == 0 {
				return nil, errf(val, "values: want a non-empty list of strings")
			}
		case "sql":
			pin.SQL = strings.TrimSpace(val.Value)
			if pin.SQL == "" {
				return nil, errf(val, "sql: empty expression")
			}
		default:
			return nil, errf(k, "unknown key %q (want faker, values or sql)", k.Value)
		}
		set++
	}
	if set != 1 {
		return nil, errf(v, "set exactly one of faker, values, sql (found %d)", set)
	}
	return pin, nil
}

func parseGenerator(file string, v *yaml.Node) (*GeneratorRule, error) {
	g := &GeneratorRule{Line: v.Line}
	errf := func(n *yaml.Node, format string, args ...any) error {
		return fmt.Errorf("%s:%d: generators: %s", file, n.Line, fmt.Sprintf(format, args...))
	}
	if v.Kind != yaml.MappingNode {
		return nil, errf(v, "want {match: REGEX, faker: NAME} or {match: REGEX, values: [...]}")
	}
	for i := 0; i < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		switch k.Value {
		case "match":
			g.Match = val.Value
			re, err := regexp.Compile(g.Match)
			if err != nil {
				return nil, errf(val, "match: %v", err)
			}
			g.re = re
		case "faker":
			g.Faker = val.Value
			if gofakeit.GetFuncLookup(g.Faker) == nil {
				return nil, errf(val, "faker: unknown gofakeit function %q", g.Faker)
			}
		case "values":
			if err := val.Decode(&g.Values); err != nil || len(g.Values) == 0 {
				return nil, errf(val, "values: want a non-empty list of strings")
			}
		default:
			return nil, errf(k, "unknown key %q (want match, faker or values)", k.Value)
		}
	}
	if g.re == nil || (g.Faker == "") == (len(g.Values) == 0) {
		return nil, errf(v, "want match and exactly one of faker, values")
	}
	return g, nil
}

// fakerGen returns a generator calling gofakeit function name through its
// lookup table.
func fakerGen(name string) func(g *tableGen, c *colPlan) string {
	info := gofakeit.GetFuncLookup(name)
	return func(g *tableGen, c *colPlan) string {
		v, err := info.Generate(g.f, &gofakeit.MapParams{}, info)
		if err != nil {
			return ""
		}
		s := fmt.Sprint(v)
		if c.class == cStr && c.length > 0 {
			s = truncateRunes(s, c.length)
		}
		return s
	}
}

func listGen(values []string) func(g *tableGen, c *colPlan) string {
	return func(g *tableGen, c *colPlan) string { return values[g.r.IntN(len(values))] }
}

func (c *colPlan) applyPin(pin *Pin) error {
	switch {
	case pin.Faker != "":
		c.gen = fakerGen(pin.Faker)
	case len(pin.Values) > 0:
		c.gen = listGen(pin.Values)
	case pin.SQL != "":
		c.sqlExpr = pin.SQL
		c.gen = typeValue
	}
	c.genName = pinnedName
	return nil
}

type tableProfileView struct{ tp *TableProfile }

func (v tableProfileView) pin(col string) *Pin {
	if v.tp == nil {
		return nil
	}
	return v.tp.Columns[col]
}

func (s *seeder) profileTable(t *schema.Table) tableProfileView {
	p := s.opts.Profile
	if p == nil {
		return tableProfileView{}
	}
	if tp := p.Tables[t.QualifiedName()]; tp != nil {
		return tableProfileView{tp}
	}
	if t.Schema == "public" {
		return tableProfileView{p.Tables[t.Name]}
	}
	return tableProfileView{}
}

func (s *seeder) rowsFor(t *schema.Table) int {
	if tp := s.profileTable(t).tp; tp != nil && tp.Rows > 0 {
		return tp.Rows
	}
	if p := s.opts.Profile; p != nil && p.Rows > 0 {
		return p.Rows
	}
	return s.opts.Rows
}

func (s *seeder) profileRule(c *colPlan) *nameRule {
	if s.opts.Profile == nil {
		return nil
	}
	for _, g := range s.opts.Profile.Generators {
		if !g.re.MatchString(c.col.Name) {
			continue
		}
		if g.Faker != "" {
			return &nameRule{faker: g.Faker, gen: fakerGen(g.Faker)}
		}
		return &nameRule{faker: "values", gen: listGen(g.Values)}
	}
	return nil
}

// checkProfile reports pins on columns the server fills. Names are checked
// before the run against every migration of the window
// (Window.CheckProfile): a profile may name a table only an intermediate
// state of N+1 has, so a name missing from both release N's snapshot and
// N+1's (future) is only logged here.
func (s *seeder) checkProfile(snap, future *schema.Snapshot) error {
	p := s.opts.Profile
	if p == nil {
		return nil
	}
	find := func(sn *schema.Snapshot, name string) *schema.Table {
		if sn == nil {
			return nil
		}
		t := sn.Tables[name]
		if t == nil && !strings.Contains(name, ".") {
			t = sn.Tables["public."+name]
		}
		return t
	}
	var errs []error
	for name, tp := range p.Tables {
		t, ft := find(snap, name), find(future, name)
		if t == nil && ft == nil {
			if future != nil {
				s.log.Warn("profile table is in neither release N's nor N+1's schema: it applies only to states between them", "file", p.File, "line", tp.Line, "table", name)
			}
			continue
		}
		for col, pin := range tp.Columns {
			var c *schema.Column
			if t != nil {
				c = t.Column(col)
			}
			if c == nil && ft != nil {
				c = ft.Column(col)
			}
			if c != nil && skipColumn(c) != "" {
				errs = append(errs, fmt.Errorf("%s:%d: table %s, column %s: the column is %s and filled by the server; remove the pin", p.File, pin.Line, name, col, skipColumn(c)))
			}
		}
	}
	return errors.Join(errs...)
}
