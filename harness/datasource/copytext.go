package datasource

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
)

// COPY text format (what pg_dump writes and COPY ... FROM STDIN reads):
// fields split by a tab, rows by a newline, NULL is \N, and backslash
// escapes the rest. Tabs and newlines inside values are always escaped, so
// splitting a raw line on '\t' is safe.

const nullField = `\N`

// decodeField turns one COPY text field into its value; ok is false for NULL.
func decodeField(f string) (v string, ok bool) {
	if f == nullField {
		return "", false
	}
	if !strings.Contains(f, `\`) {
		return f, true
	}
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '\\' || i+1 == len(f) {
			b.WriteByte(c)
			continue
		}
		i++
		switch d := f[i]; d {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case 'x':
			j := i + 1
			for j < len(f) && j < i+3 && isHex(f[j]) {
				j++
			}
			if j == i+1 {
				b.WriteByte('x')
				continue
			}
			n, _ := strconv.ParseUint(f[i+1:j], 16, 8)
			b.WriteByte(byte(n))
			i = j - 1
		default:
			if d >= '0' && d <= '7' {
				j := i
				for j < len(f) && j < i+3 && f[j] >= '0' && f[j] <= '7' {
					j++
				}
				n, _ := strconv.ParseUint(f[i:j], 8, 8)
				b.WriteByte(byte(n))
				i = j - 1
				continue
			}
			b.WriteByte(d)
		}
	}
	return b.String(), true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// encodeField turns a value into a COPY text field.
func encodeField(v string, ok bool) string {
	if !ok {
		return nullField
	}
	if !strings.ContainsAny(v, "\\\t\n\r\b\f\v") {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "\b", `\b`, "\f", `\f`, "\v", `\v`)
	return r.Replace(v)
}

// blockReader yields the rows of one COPY block (each transformed) until
// the `\.` line or EOF, as an io.Reader for COPY ... FROM STDIN.
type blockReader struct {
	src *bufio.Reader
	// filter drops a row when it returns nil (sampling; it sees the
	// source's row); nil keeps every row.
	filter    func(line []byte) []byte
	transform func(line []byte) []byte // nil: rows pass unchanged
	buf       bytes.Buffer
	done      bool
	rows      int64
	err       error
}

func (b *blockReader) Read(p []byte) (int, error) {
	for b.buf.Len() < len(p) && !b.done {
		line, err := b.src.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A row longer than the buffer: gather it whole.
			full := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = b.src.ReadSlice('\n')
				full = append(full, line...)
			}
			line = full
		}
		if len(line) > 0 {
			if bytes.Equal(line, []byte("\\.\n")) || bytes.Equal(line, []byte("\\.")) {
				b.done = true
				break
			}
			b.rows++
			if b.filter != nil {
				line = b.filter(line)
			}
			if line != nil && b.transform != nil {
				line = b.transform(line)
			}
			b.buf.Write(line)
		}
		if err != nil {
			b.done = true
			if err != io.EOF {
				b.err = err
			}
		}
	}
	if b.buf.Len() == 0 && b.done {
		if b.err != nil {
			return 0, b.err
		}
		return 0, io.EOF
	}
	return b.buf.Read(p)
}

// drain consumes the rest of the block (a table that is not loaded).
func (b *blockReader) drain() error {
	buf := make([]byte, 64<<10)
	for {
		if _, err := b.Read(buf); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// splitIdents splits a COPY column list ("a, \"B c\", d") into names,
// unquoting quoted identifiers.
func splitIdents(list string) []string {
	var out []string
	var cur strings.Builder
	inQ := false
	for i := 0; i < len(list); i++ {
		c := list[i]
		switch {
		case c == '"' && inQ && i+1 < len(list) && list[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			inQ = !inQ
		case c == ',' && !inQ:
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		case c == ' ' && !inQ && cur.Len() == 0:
		default:
			cur.WriteByte(c)
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" || len(out) > 0 {
		out = append(out, s)
	}
	return out
}

// splitQualified splits `public."My Table"` into schema and name, unquoted.
func splitQualified(q string) (string, string) {
	parts := splitDot(q)
	if len(parts) == 1 {
		return "public", parts[0]
	}
	return parts[0], parts[1]
}

func splitDot(q string) []string {
	var out []string
	var cur strings.Builder
	inQ := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '"' && inQ && i+1 < len(q) && q[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			inQ = !inQ
		case c == '.' && !inQ:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, cur.String())
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteQualified(schemaName, name string) string {
	return quoteIdent(schemaName) + "." + quoteIdent(name)
}
