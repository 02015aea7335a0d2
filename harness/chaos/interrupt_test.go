package chaos

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/migrate"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
)

// A migration's session killed between two statements, on a real
// PostgreSQL: what took effect is measured, not inferred from the file.
func TestInterruptUp(t *testing.T) {
	const base = "CREATE TABLE items (id int PRIMARY KEY, name text);\nINSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 50) g;\n"
	const threeStatements = "ALTER TABLE items ADD COLUMN sku text;\nUPDATE items SET sku = 'S' || id;\nCREATE INDEX items_sku_idx ON items (sku);\n"
	cases := []struct {
		name, layout, file, body string
		fault                    string
		after                    int
		effective                int
		half                     bool
		state, bookkeeping       string
	}{
		{
			name: "goose NO TRANSACTION killed after 2 of 3", layout: "goose", file: "00002_sku.sql",
			body:  "-- +goose NO TRANSACTION\n-- +goose Up\n" + threeStatements + "-- +goose Down\nALTER TABLE items DROP COLUMN sku;\n",
			fault: KillMigration, after: 2, effective: 2, half: true,
			state: "statements 1-2 of 3 of 00002_sku.sql took effect: HALF-APPLIED", bookkeeping: `records version "1"`,
		},
		{
			name: "goose NO TRANSACTION, PostgreSQL crashed after 1 of 3", layout: "goose", file: "00002_sku.sql",
			body:  "-- +goose NO TRANSACTION\n-- +goose Up\n" + threeStatements + "-- +goose Down\nALTER TABLE items DROP COLUMN sku;\n",
			fault: KillPostgres, after: 1, effective: 1, half: true,
			state: "statements 1-1 of 3 of 00002_sku.sql took effect: HALF-APPLIED", bookkeeping: `records version "1"`,
		},
		{
			name: "goose in a transaction killed after 2 of 3", layout: "goose", file: "00002_sku.sql",
			body:  "-- +goose Up\n" + threeStatements + "-- +goose Down\nALTER TABLE items DROP COLUMN sku;\n",
			fault: KillMigration, after: 2, effective: 0,
			state: "none of 00002_sku.sql's 3 statements took effect (its transaction rolled back)", bookkeeping: `records version "1"`,
		},
		{
			name: "golang-migrate killed before its commit", layout: "golang-migrate", file: "000002_sku.up.sql",
			body:  threeStatements,
			fault: KillMigration, after: 3, effective: 0,
			state: "none of 000002_sku.up.sql's 3 statements took effect", bookkeeping: `records version "2", dirty`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dir := t.TempDir()
			if tc.layout == "goose" {
				write(t, dir, "00001_items.sql", "-- +goose Up\n"+base+"-- +goose Down\nDROP TABLE items;\n")
			} else {
				write(t, dir, "000001_items.up.sql", base)
				write(t, dir, "000001_items.down.sql", "DROP TABLE items;\n")
				write(t, dir, "000002_sku.down.sql", "ALTER TABLE items DROP COLUMN sku;\n")
			}
			write(t, dir, tc.file, tc.body)
			set, err := migrate.LoadDir(dir, migrate.Options{})
			require.NoError(t, err)
			bk, err := migrate.BookkeepingFor(tc.layout)
			require.NoError(t, err)

			dsn := pgtest.NewDatabase(t)
			conn := pgtest.Connect(t, dsn)
			require.NoError(t, migrate.Migrate(ctx, conn, set.Migrations[:1], bk))
			m := set.Migrations[1]
			admin := func(context.Context) (string, error) { return pgtest.AdminDSN(t), nil }
			in, err := interruptUp(ctx, conn, admin, m, bk, tc.fault, tc.after)
			require.NoError(t, err)
			require.True(t, in.landed)
			require.Error(t, in.applyErr, "the script must stop at the fault")

			check := pgtest.Connect(t, dsn)
			now, err := takeProbe(ctx, check, bk.Table())
			require.NoError(t, err)
			st := measureScript(m.Up, tc.after, in.before, in.at, now)
			assert.Equal(t, tc.effective, st.effective, st.text+"\n"+st.detail)
			assert.Contains(t, st.text, tc.state)
			assert.Equal(t, tc.half, st.effective > 0 && st.effective < len(m.Up.Statements))
			bkText, _, err := bookkeepingText(ctx, check, bk)
			require.NoError(t, err)
			assert.Contains(t, bkText, tc.bookkeeping)
		})
	}
}

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
}
