package migrate

import (
	"fmt"
	"regexp"
	"strings"
)

// chunk is a run of lines of a section: plain SQL to split, or a goose
// StatementBegin/End block kept as one statement.
type chunk struct {
	text  strings.Builder
	line  int // file line of the chunk's first line
	block bool
}

type section struct {
	present bool
	sql     strings.Builder
	chunks  []*chunk
	fresh   bool // the next line starts a new chunk
}

func (s *section) add(line string, ln int, block bool) {
	s.sql.WriteString(line)
	var c *chunk
	if n := len(s.chunks); n > 0 && !s.fresh && s.chunks[n-1].block == block {
		c = s.chunks[n-1]
	} else {
		c = &chunk{line: ln, block: block}
		s.chunks = append(s.chunks, c)
		s.fresh = false
	}
	c.text.WriteString(line)
}

// cut ends the current chunk so the next line starts a new one.
func (s *section) cut() { s.fresh = true }

func (s *section) script(file string, noTx bool) (*Script, error) {
	if !s.present {
		return nil, nil
	}
	sc := &Script{File: file, SQL: s.sql.String(), NoTransaction: noTx}
	for _, c := range s.chunks {
		if strings.TrimSpace(c.text.String()) == "" {
			continue
		}
		if c.block {
			st, tx, err := checkBlock(file, c.text.String(), c.line)
			if err != nil {
				return invalidScript(file, sc.SQL, err)
			}
			sc.Statements = append(sc.Statements, st)
			sc.NoTransaction = sc.NoTransaction || tx
			continue
		}
		sts, tx, err := split(file, c.text.String(), c.line)
		if err != nil {
			return invalidScript(file, sc.SQL, err)
		}
		sc.Statements = append(sc.Statements, sts...)
		sc.NoTransaction = sc.NoTransaction || tx
	}
	return sc, nil
}

var reGooseAnnotation = regexp.MustCompile(`^--\s*\+goose\s+(.*?)\s*$`)

// parseGoose follows goose's annotation rules
// (github.com/pressly/goose/v3 internal/sqlparser/parser.go, v3.30.0); the
// statements inside a section are split by the PostgreSQL parser instead of
// goose's "line ends with ;" rule.
func parseGoose(f sourceFile, body string) (up, down *Script, err error) {
	const (
		start = iota
		inUp
		inDown
	)
	state, inBlock, noTx := start, false, false
	var upSec, downSec section
	cur := &upSec
	lines := strings.SplitAfter(body, "\n")
	fail := func(ln int, problem, fix string) (*Script, *Script, error) {
		return nil, nil, &LoadError{File: f.path, Line: ln, Problem: problem, Fix: fix}
	}
	for i, line := range lines {
		ln := i + 1
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") && strings.Contains(line, "+goose") {
			m := reGooseAnnotation.FindStringSubmatch(strings.TrimRight(line, "\r\n"))
			if m == nil {
				return fail(ln, fmt.Sprintf("malformed goose annotation %q", t), "write it as '-- +goose Up' at the start of the line")
			}
			switch strings.ToUpper(m[1]) {
			case "UP":
				if state != start {
					return fail(ln, "duplicate '-- +goose Up' annotation", "keep one Up section per file")
				}
				state, cur = inUp, &upSec
				cur.present = true
				continue
			case "DOWN":
				if state != inUp || inBlock {
					return fail(ln, "'-- +goose Down' must follow '-- +goose Up' (and close any StatementBegin first)", "put the Up section first")
				}
				state, cur = inDown, &downSec
				cur.present = true
				continue
			case "STATEMENTBEGIN":
				if state == start || inBlock {
					return fail(ln, "'-- +goose StatementBegin' outside an Up/Down section or inside another block", "put it after '-- +goose Up' or '-- +goose Down', and close the previous block")
				}
				inBlock = true
				cur.cut()
				cur.sql.WriteString(line)
				continue
			case "STATEMENTEND":
				if !inBlock {
					return fail(ln, "'-- +goose StatementEnd' without a StatementBegin", "add '-- +goose StatementBegin' before the statement")
				}
				inBlock = false
				cur.cut()
				cur.sql.WriteString(line)
				continue
			case "NO TRANSACTION":
				noTx = true
				continue
			case "ENVSUB ON", "ENVSUB OFF":
				// Environment substitution is not applied: the rehearsal
				// runs the SQL as written.
				continue
			default:
				return fail(ln, fmt.Sprintf("unknown goose annotation %q", m[1]), "use Up, Down, StatementBegin, StatementEnd or NO TRANSACTION")
			}
		}
		if state == start {
			if t == "" || strings.HasPrefix(t, "--") {
				continue
			}
			return fail(ln, "SQL before '-- +goose Up'", "start the file with a '-- +goose Up' line")
		}
		cur.add(line, ln, inBlock)
	}
	if state == start {
		return fail(0, "no '-- +goose Up' annotation", "start the file with a '-- +goose Up' line")
	}
	if inBlock {
		return fail(0, "missing '-- +goose StatementEnd'", "close every StatementBegin block")
	}
	if up, err = upSec.script(f.path, noTx); err != nil {
		return nil, nil, err
	}
	if down, err = downSec.script(f.path, noTx); err != nil {
		return nil, nil, err
	}
	return up, down, nil
}

var reDbmateDirective = regexp.MustCompile(`^--\s*migrate:(up|down)\b(.*)$`)

// parseDbmate follows dbmate's block rules
// (github.com/amacneil/dbmate/v2 pkg/dbmate/migration.go): a
// "-- migrate:up" line, then an optional "-- migrate:down" line, each with
// options such as transaction:false. dbmate itself refuses a file without
// a down block; here that is a migration without down (verdict broken).
func parseDbmate(f sourceFile, body string) (up, down *Script, err error) {
	var upSec, downSec section
	var upOpts, downOpts string
	var cur *section
	lines := strings.SplitAfter(body, "\n")
	for i, line := range lines {
		ln := i + 1
		t := strings.TrimSpace(line)
		if m := reDbmateDirective.FindStringSubmatch(strings.TrimRight(line, "\r\n")); m != nil {
			switch m[1] {
			case "up":
				if upSec.present {
					return nil, nil, &LoadError{File: f.path, Line: ln, Problem: "duplicate '-- migrate:up' line", Fix: "keep one up block per file"}
				}
				if downSec.present {
					return nil, nil, &LoadError{File: f.path, Line: ln, Problem: "'-- migrate:up' after '-- migrate:down'", Fix: "put the up block first"}
				}
				cur, upOpts = &upSec, m[2]
			case "down":
				if !upSec.present {
					return nil, nil, &LoadError{File: f.path, Line: ln, Problem: "'-- migrate:down' before '-- migrate:up'", Fix: "put the up block first"}
				}
				if downSec.present {
					return nil, nil, &LoadError{File: f.path, Line: ln, Problem: "duplicate '-- migrate:down' line", Fix: "keep one down block per file"}
				}
				cur, downOpts = &downSec, m[2]
			}
			cur.present = true
			continue
		}
		if cur == nil {
			if t == "" || strings.HasPrefix(t, "--") {
				continue
			}
			return nil, nil, &LoadError{File: f.path, Line: ln, Problem: "SQL before '-- migrate:up'", Fix: "move it below the '-- migrate:up' line"}
		}
		cur.add(line, ln, false)
	}
	if !upSec.present {
		return nil, nil, &LoadError{File: f.path, Problem: "no '-- migrate:up' line", Fix: "start the up block with a '-- migrate:up' line"}
	}
	if up, err = upSec.script(f.path, !dbmateTransaction(upOpts)); err != nil {
		return nil, nil, err
	}
	if down, err = downSec.script(f.path, !dbmateTransaction(downOpts)); err != nil {
		return nil, nil, err
	}
	return up, down, nil
}

// dbmateTransaction reads the options after "-- migrate:up": only
// transaction:false turns the transaction off, as in dbmate.
func dbmateTransaction(opts string) bool {
	for _, kv := range strings.Fields(opts) {
		if k, v, ok := strings.Cut(kv, ":"); ok && k == "transaction" && v == "false" {
			return false
		}
	}
	return true
}
