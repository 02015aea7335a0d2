package seed

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseProfileErrorsNameFileLineTableColumn(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown top-level key", "rows: 10\nrow: 5\n", "p.yaml:2: unknown key \"row\""},
		{"negative rows", "rows: -1\n", "p.yaml:1: rows: want a non-negative integer"},
		{"unknown faker", "tables:\n  certs:\n    columns:\n      owner_email: {faker: emial}\n", "p.yaml:4: table certs, column owner_email: faker: unknown gofakeit function \"emial\""},
		{"two generators", "tables:\n  certs:\n    columns:\n      cn: {faker: email, values: [a]}\n", "p.yaml:4: table certs, column cn: set exactly one of faker, values, sql (found 2)"},
		{"empty values", "tables:\n  certs:\n    columns:\n      cn: {values: []}\n", "p.yaml:4: table certs, column cn: values: want a non-empty list"},
		{"bad table key", "tables:\n  certs:\n    rowz: 3\n", "p.yaml:3: table certs: unknown key \"rowz\""},
		{"table rows not a number", "tables:\n  certs:\n    rows: many\n", "p.yaml:3: table certs: rows: want a non-negative integer, got \"many\""},
		{"bad generator regexp", "generators:\n  - {match: \"(\", faker: email}\n", "p.yaml:2: generators: match: error parsing regexp"},
		{"generator without generator", "generators:\n  - {match: x}\n", "p.yaml:2: generators: want match and exactly one of faker, values"},
		{"not yaml", "tables: [\n", "p.yaml: yaml: line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseProfile("p.yaml", []byte(tt.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestProfilePinsAndUnknownNames(t *testing.T) {
	ctx := testCtx(t)
	dsn := schemaDB(t, `CREATE TABLE certs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, owner_email text, algo text NOT NULL, serial text NOT NULL UNIQUE, team text)`)
	snap := take(t, dsn)

	bad, err := ParseProfile("bad.yaml", []byte("tables:\n  certz:\n    rows: 3\n  certs:\n    columns:\n      nope: {values: [x]}\n      id: {values: ['1']}\n"))
	require.NoError(t, err)
	_, err = New(Options{Profile: bad, Logger: testLogger()}).Base(ctx, dsn, snap, nil)
	require.Error(t, err)
	// Unknown names are the window check's (TestWindowCheckProfile): a
	// profile may name tables of N+1 that this snapshot lacks.
	assert.NotContains(t, err.Error(), "certz")
	assert.NotContains(t, err.Error(), "nope")
	assert.Contains(t, err.Error(), "bad.yaml:7: table certs, column id: the column is identity")

	p, err := ParseProfile("good.yaml", []byte(`rows: 40
tables:
  certs:
    rows: 30
    columns:
      owner_email: {faker: email}
      algo: {values: [RSA, ECDSA]}
      serial: {sql: "'SN-' || lpad(i::text, 6, '0')"}
generators:
  - {match: "^team$", values: [platform, payments]}
`))
	require.NoError(t, err)
	res, err := New(Options{Profile: p, Logger: testLogger()}).Base(ctx, dsn, snap, nil)
	require.NoError(t, err)
	require.Len(t, res.Tables, 1)
	assert.Equal(t, int64(30), res.Tables[0].Rows)
	assert.Zero(t, queryInt(t, dsn, "SELECT count(*) FROM certs WHERE owner_email IS NULL OR owner_email NOT LIKE '%@%'"), "pinned column: no NULLs, no odd shapes")
	assert.Zero(t, queryInt(t, dsn, "SELECT count(*) FROM certs WHERE algo NOT IN ('RSA', 'ECDSA')"))
	assert.Equal(t, int64(1), queryInt(t, dsn, "SELECT count(*) FROM certs WHERE serial = 'SN-000001'"))
	// A generator rule is a value source; break-down shapes still apply.
	assert.Greater(t, queryInt(t, dsn, "SELECT count(*) FROM certs WHERE team IN ('platform', 'payments')"), int64(20))
}
