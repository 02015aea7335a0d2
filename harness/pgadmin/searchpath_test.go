package pgadmin_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/pgadmin"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
)

// TestWithSearchPath: the path reaches the server on every connection
// opened from the DSN, databases derived with WithDatabase included, and an
// unqualified CREATE TABLE lands in the path's first schema.
func TestWithSearchPath(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tests := []struct {
		name, path, want string
		existing         string // options already in the DSN
		kv               bool   // keyword/value form instead of a URL
	}{
		{name: "one schema", path: "app", want: "app"},
		{name: "blanks around commas", path: " app , public ", want: "app,public"},
		{name: "kept with other options", path: "app,public", want: "app,public", existing: "-c statement_timeout=5000"},
		{name: "keyword/value DSN", path: "app", want: "app", kv: true},
		{name: "keyword/value DSN with other options", path: "app,public", want: "app,public", existing: "-c statement_timeout=5000", kv: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := pgtest.NewDatabase(t)
			pgtest.Exec(t, db, `CREATE SCHEMA app`)
			base := db
			if tc.kv {
				base = keywordValue(t, db)
				if tc.existing != "" {
					base += " options='" + tc.existing + "'"
				}
			} else if tc.existing != "" {
				base += "&options=-c%20statement_timeout%3D5000" // pgtest DSNs carry ?sslmode=
			}
			dsn, err := pgadmin.WithSearchPath(base, tc.path)
			require.NoError(t, err)
			assert.NotContains(t, dsn, "+", "libpq does not read + as a blank")
			if !tc.kv {
				// A database derived from it keeps the option.
				dsn, err = pgadmin.WithDatabase(dsn, dbName(t, db))
				require.NoError(t, err)
			}
			conn := pgtest.Connect(t, dsn)
			var got string
			require.NoError(t, conn.QueryRow(ctx, `SHOW search_path`).Scan(&got))
			assert.Equal(t, tc.want, got)
			if tc.existing != "" {
				require.NoError(t, conn.QueryRow(ctx, `SHOW statement_timeout`).Scan(&got))
				assert.Equal(t, "5s", got)
			}
			_, err = conn.Exec(ctx, `CREATE TABLE t (id int)`)
			require.NoError(t, err)
			var schema string
			require.NoError(t, conn.QueryRow(ctx, `SELECT relnamespace::regnamespace::text FROM pg_class WHERE relname = 't'`).Scan(&schema))
			assert.Equal(t, "app", schema)
		})
	}
}

func TestCheckSearchPathBadInput(t *testing.T) {
	tests := []struct{ path, err string }{
		{"app,,public", `empty schema name`},
		{"", `empty schema name`},
		{"my app", `schema name "my app" holds a blank`},
		{`a\b`, `holds a blank, backslash or quote`},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			_, err := pgadmin.CheckSearchPath(tc.path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
			_, err = pgadmin.WithSearchPath("postgres://u@localhost/db", tc.path)
			require.Error(t, err)
		})
	}
}

func dbName(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	return strings.TrimPrefix(u.Path, "/")
}

// keywordValue turns a pgtest URL DSN into keyword/value form.
func keywordValue(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	pw, _ := u.User.Password()
	return fmt.Sprintf("host=%s port=%s user=%s password='%s' dbname=%s sslmode=disable", u.Hostname(), u.Port(), u.User.Username(), pw, strings.TrimPrefix(u.Path, "/"))
}
