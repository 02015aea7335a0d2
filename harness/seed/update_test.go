package seed

import (
	"testing"

	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUpdateInBatchesSameRows: the UPDATEs of existing rows (new columns in
// the N+1 era, deferred foreign keys) set the same values whatever the batch
// size: the cursor hands each row over once, in order, and the generator
// goes on across batches.
func TestUpdateInBatchesSameRows(t *testing.T) {
	tests := []struct {
		name, ddl, step, dump, updated string
	}{
		{"new columns", nextBase,
			`ALTER TABLE certs ADD COLUMN renewal_state varchar(16) NOT NULL DEFAULT 'pending' CHECK (renewal_state IN ('pending', 'scheduled', 'overdue', 'none'));
			 ALTER TABLE certs ADD COLUMN issuer_id bigint REFERENCES agents (id);
			 ALTER TABLE certs ADD COLUMN code text UNIQUE`,
			`SELECT string_agg(t::text, E'\n' ORDER BY id) FROM certs t`,
			`SELECT count(*) FROM certs WHERE issuer_id IS NOT NULL AND code IS NOT NULL`},
		{"a deferred foreign key", `CREATE TABLE nodes (id bigserial PRIMARY KEY, parent_id bigint REFERENCES nodes, name text NOT NULL)`,
			"", `SELECT string_agg(t::text, E'\n' ORDER BY id) FROM nodes t`,
			`SELECT count(*) FROM nodes WHERE parent_id IS NOT NULL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			load := func(batch int) string {
				old := updateBatch
				updateBatch = batch
				defer func() { updateBatch = old }()
				ctx := testCtx(t)
				dsn := schemaDB(t, tt.ddl)
				s := New(Options{Seed: 5, Rows: 100, Logger: testLogger()})
				_, err := s.Base(ctx, dsn, take(t, dsn), nil)
				require.NoError(t, err)
				if tt.step != "" {
					before := take(t, dsn)
					pgtest.Exec(t, dsn, tt.step)
					_, err = s.Next(ctx, dsn, "000002_step", before, take(t, dsn))
					require.NoError(t, err)
				}
				assert.Greater(t, queryInt(t, dsn, tt.updated), int64(20), "rows the UPDATEs set")
				var out string
				require.NoError(t, pgtest.Connect(t, dsn).QueryRow(ctx, tt.dump).Scan(&out))
				return out
			}
			one := load(1 << 15)
			assert.Equal(t, one, load(7), "batches of 7 rows")
			assert.Equal(t, one, load(1), "batches of 1 row")
		})
	}
}
