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
