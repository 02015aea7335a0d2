package pgadmin

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name, dsn, want string
	}{
		{"URL with password", "postgres://app:s3cret@db:5432/app?sslmode=disable", "postgres://app@db:5432/app?sslmode=disable"},
		{"URL without password", "postgres://app@db/app", "postgres://app@db/app"},
		{"password query parameter", "postgresql://db/app?user=app&password=s3cret&sslmode=require", "postgresql://db/app?sslmode=require&user=app"},
		{"percent-encoded password", "postgres://app:p%40ss%3Aword@db/app", "postgres://app@db/app"},
		{"unparsable URL", "postgres://app:s3cret@db:54x2/app", "postgres://(unparsable DSN)"},
		{"key=value", "host=db user=app password=s3cret dbname=app", "host=db user=app dbname=app"},
		{"key=value quoted", "host=db password='s3 cr\\'et' dbname=app", "host=db dbname=app"},
		{"key=value spaced", "host=db PASSWORD = s3cret", "host=db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(tt.dsn)
			assert.Equal(t, tt.want, got)
			assert.NotContains(t, got, "s3")
			assert.NotContains(t, got, "p%40ss")
		})
	}
}

func TestWithDatabaseErrorHidesThePassword(t *testing.T) {
	_, err := WithDatabase("postgres://app:s3cret@db:54x2/app", "x")
	assert.ErrorContains(t, err, "percent-encode")
	assert.NotContains(t, err.Error(), "s3cret")
}

func TestForTool(t *testing.T) {
	tests := []struct {
		name, dsn, public string
		env               []string
	}{
		{"URL with password", "postgres://app:s3%40cret@db/app", "postgres://app@db/app", []string{"PGPASSWORD=s3@cret"}},
		{"URL without password", "postgres://app@db/app", "postgres://app@db/app", nil},
		{"key=value", "host=db password='s3 cr\\'et' dbname=app", "host=db dbname=app", []string{"PGPASSWORD=s3 cr'et"}},
		{"key=value without password", "host=db dbname=app", "host=db dbname=app", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			public, env := ForTool(tt.dsn)
			assert.Equal(t, tt.public, public)
			assert.Equal(t, tt.env, env)
		})
	}
}
