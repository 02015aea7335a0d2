package schema

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier is what Take needs from a connection (*pgx.Conn, *pgxpool.Pool, pgx.Tx).
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// HarnessSchema holds the harness's own bookkeeping (era row keys); it is
// never part of a snapshot.
const HarnessSchema = "_rehearse"

// Snapshot is the catalog of the user schemas of one database (everything
// but pg_catalog, information_schema, pg_toast* and HarnessSchema).
// Maps are keyed by qualified name ("public.certificates") unless noted.
type Snapshot struct {
	Tables     map[string]*Table    `json:"tables"`
	Sequences  map[string]*Sequence `json:"sequences,omitempty"`
	Enums      map[string]*Enum     `json:"enums,omitempty"`
	Domains    map[string]*Domain   `json:"domains,omitempty"`
	Views      map[string]*View     `json:"views,omitempty"`
	Functions  map[string]*Function `json:"functions,omitempty"`  // key: qualified name + "(" + identity args + ")"
	Triggers   map[string]*Trigger  `json:"triggers,omitempty"`   // key: table + "." + trigger name
	Extensions map[string]string    `json:"extensions,omitempty"` // name -> version
}

// WithOwnTables returns a copy of s whose Tables map and tables are its
// own, so their fields can be set without changing s (other parts are
// shared).
func (s *Snapshot) WithOwnTables() *Snapshot {
	cp := *s
	cp.Tables = make(map[string]*Table, len(s.Tables))
	for name, t := range s.Tables {
		tc := *t
		cp.Tables[name] = &tc
	}
	return &cp
}

// Table is an ordinary or partitioned table.
type Table struct {
	OID    uint32 `json:"oid"`
	Schema string `json:"schema"`
	Name   string `json:"name"`
	// Kind is pg_class.relkind: "r" (table) or "p" (partitioned).
	Kind        string        `json:"kind"`
	Columns     []*Column     `json:"columns"` // live columns, by attnum
	Constraints []*Constraint `json:"constraints,omitempty"`
	Indexes     []*Index      `json:"indexes,omitempty"`
	// ACL is pg_class.relacl as text items, sorted; empty means default privileges.
	ACL []string `json:"acl,omitempty"`
	// Owner is the owning role; a table with an empty ACL grants it everything.
	Owner string `json:"owner,omitempty"`
	// Options is pg_class.reloptions ("fillfactor=70", ...), sorted; storage
	// parameters a down must RESET as well as a column it must drop.
	Options []string `json:"options,omitempty"`
	// RelFileNode changes when the table's storage is rewritten.
	RelFileNode uint32 `json:"relfilenode"`
	// Rows is an exact row count, taken only when Options.CountRows is set.
	Rows int64 `json:"rows"`
	// PartitionKey is a partitioned table's key as pg_get_partkeydef gives
	// it ("RANGE (day)"); PartitionOf names the table a partition belongs
	// to and PartitionBound is its bound ("FOR VALUES FROM (0) TO (50)",
	// "DEFAULT"). The seeder keeps rows inside the bounds.
	PartitionKey   string `json:"partitionKey,omitempty"`
	PartitionOf    string `json:"partitionOf,omitempty"`
	PartitionBound string `json:"partitionBound,omitempty"`
}

// QualifiedName is "schema.name".
func (t *Table) QualifiedName() string { return t.Schema + "." + t.Name }

// Column returns the live column called name, or nil.
func (t *Table) Column(name string) *Column {
	for _, c := range t.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Column is one live (not dropped) attribute.
type Column struct {
	Attnum int16  `json:"attnum"`
	Name   string `json:"name"`
	// Type is format_type(atttypid, atttypmod), e.g. "character varying(64)".
	Type    string `json:"type"`
	TypeOID uint32 `json:"typeOid"`
	// BaseType is the type's pg_type.typname after resolving domains and
	// array element types, e.g. "varchar", "int4", "my_enum".
	BaseType string `json:"baseType"`
	// TypeCategory is pg_type.typcategory of the (domain-resolved) type:
	// "S" string, "N" numeric, "D" datetime, "B" bool, "U" user, "E" enum, "A" array, ...
	TypeCategory string `json:"typeCategory"`
	IsArray      bool   `json:"isArray,omitempty"`
	// Domain is the qualified domain name when the column's type is a domain.
	Domain string `json:"domain,omitempty"`
	// Enum is the qualified enum type name when the (element) type is an enum.
	Enum string `json:"enum,omitempty"`
	// Length is n of varchar(n)/char(n)/bit(n), -1 when unbounded.
	Length int `json:"length"`
	// Precision and Scale of numeric(p,s); -1 when unconstrained.
	Precision int    `json:"precision"`
	Scale     int    `json:"scale"`
	NotNull   bool   `json:"notNull"`
	Default   string `json:"default,omitempty"` // pg_get_expr of the default
	// Identity is pg_attribute.attidentity: "a" always, "d" by default, "" none.
	Identity string `json:"identity,omitempty"`
	// Generated is pg_attribute.attgenerated: "s" stored, "" none.
	Generated string `json:"generated,omitempty"`
	Collation string `json:"collation,omitempty"`
}

// Constraint is a pg_constraint row of a table.
type Constraint struct {
	OID  uint32 `json:"oid"`
	Name string `json:"name"`
	// Type is pg_constraint.contype: "p" primary key, "u" unique, "f" foreign
	// key, "c" check, "x" exclusion.
	Type    string   `json:"type"`
	Columns []string `json:"columns,omitempty"`
	// Def is pg_get_constraintdef, e.g. "CHECK ((status = ANY (ARRAY['a'::text, 'b'::text])))".
	Def        string   `json:"def"`
	RefTable   string   `json:"refTable,omitempty"` // qualified, for "f"
	RefColumns []string `json:"refColumns,omitempty"`
	Deferrable bool     `json:"deferrable,omitempty"`
	Deferred   bool     `json:"deferred,omitempty"`
	Validated  bool     `json:"validated"`
}

// Index is an index of a table (including those backing constraints).
type Index struct {
	OID     uint32   `json:"oid"`
	Name    string   `json:"name"`
	Def     string   `json:"def"` // pg_get_indexdef
	Unique  bool     `json:"unique,omitempty"`
	Primary bool     `json:"primary,omitempty"`
	Columns []string `json:"columns,omitempty"` // key columns; "" for an expression
	// Predicate is the WHERE of a partial index, "" otherwise.
	Predicate string `json:"predicate,omitempty"`
	Valid     bool   `json:"valid"`
}

// Sequence is a sequence and, when it is owned, its owning column. For
// Sequence, Enum, Domain, View and Function, Name is unqualified and the
// map key is Schema + "." + Name (plus arguments for functions).
type Sequence struct {
	OID     uint32 `json:"oid"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	OwnedBy string `json:"ownedBy,omitempty"` // "schema.table.column"
	Schema  string `json:"schema"`
	// Parameters from pg_sequence; the current value is data, not schema.
	Increment int64 `json:"increment"`
	Start     int64 `json:"start"`
	Min       int64 `json:"min"`
	Max       int64 `json:"max"`
	Cycle     bool  `json:"cycle,omitempty"`
	// ACL and Role: as Table's ACL and Owner (USAGE, SELECT, UPDATE).
	ACL  []string `json:"acl,omitempty"`
	Role string   `json:"role,omitempty"`
}

// Enum is an enum type with its labels in sort order.
type Enum struct {
	OID    uint32   `json:"oid"`
	Name   string   `json:"name"`
	Schema string   `json:"schema"`
	Labels []string `json:"labels"`
}

// Domain is a domain type over a base type.
type Domain struct {
	OID      uint32   `json:"oid"`
	Name     string   `json:"name"`
	Schema   string   `json:"schema"`
	BaseType string   `json:"baseType"` // format_type of the base
	NotNull  bool     `json:"notNull,omitempty"`
	Checks   []string `json:"checks,omitempty"` // pg_get_constraintdef
	Default  string   `json:"default,omitempty"`
}

// View is a view or materialized view.
type View struct {
	OID          uint32 `json:"oid"`
	Name         string `json:"name"`
	Schema       string `json:"schema"`
	Materialized bool   `json:"materialized,omitempty"`
	Def          string `json:"def"`
}

// Function is a function or procedure.
type Function struct {
	OID    uint32 `json:"oid"`
	Name   string `json:"name"`
	Schema string `json:"schema"`
	Def    string `json:"def"` // pg_get_functiondef
}

// Trigger is a user trigger on a table.
type Trigger struct {
	OID uint32 `json:"oid"`
	// Table is the qualified name of the trigger's table.
	Table string `json:"table"`
	Name  string `json:"name"`
	Def   string `json:"def"` // pg_get_triggerdef
}
