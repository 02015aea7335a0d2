package pgadmin_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/rehearse-dev/rehearse/harness/pgadmin"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// BenchmarkClone compares the two CREATE DATABASE strategies on a 100k-row
// template, the size of the matrix benchmark's states.
func BenchmarkClone(b *testing.B) {
	dsn := pgtest.NewDatabase(b)
	pgtest.Exec(b, dsn, `CREATE TABLE t AS SELECT g AS id, md5(g::text) AS a, md5((g*7)::text) AS b, now() AS c FROM generate_series(1, 100000) g;
CREATE INDEX ON t (id); CREATE INDEX ON t (a);`)
	template := lastPath(dsn)
	admin := pgtest.AdminDSN(b)
	for _, strategy := range []string{"WAL_LOG", "FILE_COPY"} {
		b.Run(strategy, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				name := fmt.Sprintf("clone_%s_%d", strategy, i)
				if err := pgadmin.CreateWithStrategy(context.Background(), admin, name, template, strategy); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				pgadmin.Drop(context.Background(), admin, name)
				b.StartTimer()
			}
		})
	}
}

func lastPath(dsn string) string {
	u := dsn
	if i := len(u) - 1; i > 0 {
		for j := len(u) - 1; j >= 0; j-- {
			if u[j] == '/' {
				u = u[j+1:]
				break
			}
		}
	}
	for j := 0; j < len(u); j++ {
		if u[j] == '?' {
			return u[:j]
		}
	}
	return u
}
