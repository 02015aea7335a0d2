package pgadmin

import (
	"net/url"
	"regexp"
	"strings"
)

// keywordPassword matches password=... in a key=value connection string,
// quoted (libpq: single quotes, backslash escapes) or not.
var keywordPassword = regexp.MustCompile(`(?i)\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|\S+)\s*`)

// Redact returns dsn without its password, for anything shown to a person
// or written to a log: a URL loses the password part of its user info (and
// a password query parameter), a key=value string loses password=... .
// Anything it cannot parse as a URL is shown only up to its host.
func Redact(dsn string) string {
	if !strings.Contains(dsn, "://") {
		return strings.TrimSpace(keywordPassword.ReplaceAllString(dsn, ""))
	}
	u, err := url.Parse(dsn)
	if err != nil {
		// url.Parse's own error repeats the input; show the scheme only.
		scheme, _, _ := strings.Cut(dsn, "://")
		return scheme + "://(unparsable DSN)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	if q.Has("password") {
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// ForTool splits dsn for a PostgreSQL client tool (psql, pg_dump, ...): the
// DSN without its password for the command line, which every local user can
// read (ps), and the password as PGPASSWORD for the tool's environment,
// which only its owner can. A DSN without a password comes back unchanged
// with no extra environment.
func ForTool(dsn string) (public string, env []string) {
	if !strings.Contains(dsn, "://") {
		m := keywordPassword.FindStringSubmatch(dsn)
		if m == nil {
			return dsn, nil
		}
		pw := strings.Trim(m[1], "'")
		pw = strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(pw)
		return Redact(dsn), []string{"PGPASSWORD=" + pw}
	}
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn, nil
	}
	pw, ok := u.User.Password()
	if !ok {
		return dsn, nil
	}
	u.User = url.User(u.User.Username())
	return u.String(), []string{"PGPASSWORD=" + pw}
}
