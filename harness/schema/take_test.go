package schema_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rehearse-dev/rehearse/harness/pgtest"
	"github.com/rehearse-dev/rehearse/harness/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func take(t testing.TB, dsn string, opts schema.Options) *schema.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx) // so the database can serve as a template
	s, err := schema.Take(ctx, conn, opts)
	require.NoError(t, err)
	return s
}

const everyKind = `
CREATE EXTENSION citext;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN email AS citext CHECK (VALUE LIKE '%@%') NOT NULL;
CREATE DOMAIN short_code AS varchar(8);
CREATE TABLE owners (
	id bigserial PRIMARY KEY,
	mail email,
	code short_code,
	codes short_code[],
	tags varchar(12)[],
	feeling mood DEFAULT 'ok',
	price numeric(10, 2),
	ratio numeric,
	flags bit(3),
	ident int GENERATED ALWAYS AS IDENTITY,
	doubled numeric GENERATED ALWAYS AS (price * 2) STORED,
	name text COLLATE "C" NOT NULL,
	CONSTRAINT owners_code_key UNIQUE (code),
	CONSTRAINT owners_price_positive CHECK (price > 0)
);
CREATE TABLE pets (
	id serial PRIMARY KEY,
	owner_id bigint REFERENCES owners (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
	name text
);
CREATE INDEX pets_lower_name_idx ON pets (lower(name)) WHERE name IS NOT NULL;
CREATE SEQUENCE loose_seq AS integer INCREMENT 5 START 10;
CREATE VIEW pet_names AS SELECT name FROM pets;
CREATE MATERIALIZED VIEW owner_count AS SELECT count(*) AS n FROM owners;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER pets_touch BEFORE UPDATE ON pets FOR EACH ROW EXECUTE FUNCTION touch();
CREATE SCHEMA _rehearse;
CREATE TABLE _rehearse.hidden (id int);
`

func TestTakeEveryKind(t *testing.T) {
	withRole(t, "schema_test_reader")
	dsn := pgtest.NewDatabase(t)
	pgtest.Exec(t, dsn, everyKind+`GRANT SELECT ON pets TO schema_test_reader;`)
	s := take(t, dsn, schema.Options{CountRows: true})

	require.Contains(t, s.Tables, "public.owners")
	require.Contains(t, s.Tables, "public.pets")
	assert.NotContains(t, s.Tables, "_rehearse.hidden")
	assert.Len(t, s.Tables, 2)

	owners := s.Tables["public.owners"]
	assert.Equal(t, "r", owners.Kind)
	assert.NotZero(t, owners.OID)
	assert.NotZero(t, owners.RelFileNode)
	assert.Nil(t, owners.ACL, "default privileges are empty")

	mail := owners.Column("mail")
	require.NotNil(t, mail)
	assert.Equal(t, "email", mail.Type)
	assert.Equal(t, "public.email", mail.Domain)
	assert.Equal(t, "citext", mail.BaseType)

	code := owners.Column("code")
	assert.Equal(t, "public.short_code", code.Domain)
	assert.Equal(t, "varchar", code.BaseType)
	assert.Equal(t, 8, code.Length, "length comes from the domain")

	codes := owners.Column("codes")
	assert.True(t, codes.IsArray)
	assert.Equal(t, "A", codes.TypeCategory)
	assert.Equal(t, "varchar", codes.BaseType)
	assert.Equal(t, 8, codes.Length)

	tags := owners.Column("tags")
	assert.Equal(t, "character varying(12)[]", tags.Type)
	assert.True(t, tags.IsArray)
	assert.Equal(t, 12, tags.Length)

	feeling := owners.Column("feeling")
	assert.Equal(t, "public.mood", feeling.Enum)
	assert.Equal(t, "E", feeling.TypeCategory)
	assert.Equal(t, "'ok'::mood", feeling.Default)

	price := owners.Column("price")
	assert.Equal(t, "numeric(10,2)", price.Type)
	assert.Equal(t, 10, price.Precision)
	assert.Equal(t, 2, price.Scale)
	assert.Equal(t, "N", price.TypeCategory)
	ratio := owners.Column("ratio")
	assert.Equal(t, -1, ratio.Precision)
	assert.Equal(t, -1, ratio.Scale)
	assert.Equal(t, 3, owners.Column("flags").Length)

	assert.Equal(t, "a", owners.Column("ident").Identity)
	assert.Equal(t, "s", owners.Column("doubled").Generated)
	assert.Equal(t, "C", owners.Column("name").Collation)
	assert.True(t, owners.Column("name").NotNull)
	assert.Equal(t, "", owners.Column("price").Collation)
	id := owners.Column("id")
	assert.Equal(t, "nextval('owners_id_seq'::regclass)", id.Default)
	assert.Equal(t, "int8", id.BaseType)
	assert.Equal(t, int16(1), id.Attnum)

	cons := map[string]*schema.Constraint{}
	for _, c := range owners.Constraints {
		cons[c.Name] = c
	}
	require.Contains(t, cons, "owners_pkey")
	assert.Equal(t, "p", cons["owners_pkey"].Type)
	assert.Equal(t, []string{"id"}, cons["owners_pkey"].Columns)
	assert.Equal(t, "u", cons["owners_code_key"].Type)
	assert.Equal(t, "c", cons["owners_price_positive"].Type)
	assert.Equal(t, []string{"price"}, cons["owners_price_positive"].Columns)
	assert.Equal(t, "CHECK ((price > (0)::numeric))", cons["owners_price_positive"].Def)

	pets := s.Tables["public.pets"]
	var fk *schema.Constraint
	for _, c := range pets.Constraints {
		if c.Type == "f" {
			fk = c
		}
	}
	require.NotNil(t, fk)
	assert.Equal(t, "public.owners", fk.RefTable)
	assert.Equal(t, []string{"owner_id"}, fk.Columns)
	assert.Equal(t, []string{"id"}, fk.RefColumns)
	assert.True(t, fk.Deferrable)
	assert.True(t, fk.Deferred)
	assert.True(t, fk.Validated)
	owner := pgtestOwner(t, dsn)
	assert.Equal(t, []string{owner + "=arwdDxt/" + owner, "schema_test_reader=r/" + owner}, pets.ACL, "ACL items sorted")

	var expr *schema.Index
	for _, ix := range pets.Indexes {
		if ix.Name == "pets_lower_name_idx" {
			expr = ix
		}
	}
	require.NotNil(t, expr)
	assert.Equal(t, []string{""}, expr.Columns)
	assert.Equal(t, "(name IS NOT NULL)", expr.Predicate)
	assert.True(t, expr.Valid)
	assert.Len(t, pets.Indexes, 2)

	require.Contains(t, s.Sequences, "public.owners_id_seq")
	assert.Equal(t, "public.owners.id", s.Sequences["public.owners_id_seq"].OwnedBy)
	assert.Equal(t, "bigint", s.Sequences["public.owners_id_seq"].Type)
	assert.Equal(t, "public.owners.ident", s.Sequences["public.owners_ident_seq"].OwnedBy)
	loose := s.Sequences["public.loose_seq"]
	require.NotNil(t, loose)
	assert.Equal(t, "integer", loose.Type)
	assert.Equal(t, int64(5), loose.Increment)
	assert.Equal(t, int64(10), loose.Start)
	assert.Equal(t, "", loose.OwnedBy)

	assert.Equal(t, []string{"sad", "ok", "happy"}, s.Enums["public.mood"].Labels)
	require.Contains(t, s.Domains, "public.email")
	assert.Equal(t, "citext", s.Domains["public.email"].BaseType)
	assert.True(t, s.Domains["public.email"].NotNull)
	assert.Equal(t, []string{"CHECK ((VALUE ~~ '%@%'::citext))"}, s.Domains["public.email"].Checks)
	assert.Equal(t, "character varying(8)", s.Domains["public.short_code"].BaseType)

	require.Contains(t, s.Views, "public.pet_names")
	assert.Contains(t, s.Views["public.pet_names"].Def, "FROM pets")
	assert.True(t, s.Views["public.owner_count"].Materialized)
	require.Contains(t, s.Functions, "public.touch()")
	assert.Contains(t, s.Functions["public.touch()"].Def, "RETURN NEW")
	for key := range s.Functions {
		assert.NotContains(t, key, "citext", "extension functions are not part of the snapshot")
	}
	require.Contains(t, s.Triggers, "public.pets.pets_touch")
	assert.Contains(t, s.Triggers["public.pets.pets_touch"].Def, "EXECUTE FUNCTION touch()")
	assert.Contains(t, s.Extensions, "citext")
	assert.Contains(t, s.Extensions, "plpgsql")
}

func TestTakeCountsRows(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.Exec(t, dsn, `CREATE TABLE a (id int); INSERT INTO a SELECT generate_series(1, 42);
CREATE TABLE "Odd Name" (id int); INSERT INTO "Odd Name" VALUES (1);
CREATE TABLE parted (id int) PARTITION BY RANGE (id);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);
INSERT INTO parted VALUES (1), (2), (3);`)
	s := take(t, dsn, schema.Options{CountRows: true})
	assert.Equal(t, int64(42), s.Tables["public.a"].Rows)
	assert.Equal(t, int64(1), s.Tables["public.Odd Name"].Rows)
	assert.Equal(t, "p", s.Tables["public.parted"].Kind)
	assert.Equal(t, int64(3), s.Tables["public.parted"].Rows)
	assert.Equal(t, int64(3), s.Tables["public.parted_1"].Rows)

	noCount := take(t, dsn, schema.Options{})
	assert.Equal(t, int64(0), noCount.Tables["public.a"].Rows)
}

func TestTakeWithoutBatch(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.Exec(t, dsn, `CREATE TABLE a (id int PRIMARY KEY, v varchar(5));`)
	conn := pgtest.Connect(t, dsn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	batched, err := schema.Take(ctx, conn, schema.Options{})
	require.NoError(t, err)
	plain, err := schema.Take(ctx, plainQuerier{conn}, schema.Options{})
	require.NoError(t, err)
	assert.Equal(t, batched, plain)
	assert.True(t, schema.Diff(batched, plain).Empty())
}

// plainQuerier hides SendBatch so Take uses one statement at a time.
type plainQuerier struct{ schema.Querier }

func BenchmarkTake(b *testing.B) {
	dsn := pgtest.NewDatabase(b)
	var sql strings.Builder
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&sql, `CREATE TABLE t%02d (
	id bigserial PRIMARY KEY, name varchar(64) NOT NULL UNIQUE, note text, amount numeric(10,2) CHECK (amount >= 0),
	created_at timestamptz NOT NULL DEFAULT now(), parent_id bigint REFERENCES t%02d (id));
CREATE INDEX t%02d_created_idx ON t%02d (created_at);
`, i, i, i, i)
	}
	pgtest.Exec(b, dsn, sql.String())
	conn := pgtest.Connect(b, dsn)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := schema.Take(ctx, conn, schema.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Tables) != 30 {
			b.Fatalf("want 30 tables, got %d", len(s.Tables))
		}
	}
}

func pgtestOwner(t *testing.T, dsn string) string {
	t.Helper()
	conn := pgtest.Connect(t, dsn)
	var who string
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT current_user").Scan(&who))
	return who
}
