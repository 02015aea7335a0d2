package matrix

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// Roles are cluster-wide: every database of the server sees the same ones,
// so the pristine chain's CREATE ROLE would make the data chain's fail. The
// harness treats the roles created by migrations as part of each state:
// it records, per state database, which of them existed when the state was
// made, and before running migration SQL on a state (or a clone of it) it
// makes the cluster's set of such roles match that state's, under one lock,
// so parallel cells never race on them. A role to remove is dropped, or
// renamed out of the way when objects of other states still depend on it
// (its grants stay attached to it). Roles that existed before the run are
// never touched. The lock is only taken when some migration created a role
// on the pristine chain; other runs keep their full parallelism.
type roleBook struct {
	mu sync.Mutex // serializes migration SQL while roles are managed
	// tracking: roles are recorded per state (the pristine chain, and
	// later when active). active: the cluster's roles are set per state.
	tracking, active bool
	// before is the set of roles that existed before the run.
	before map[string]bool
	// attrs is the CREATE ROLE option list of each role first seen, to
	// recreate it for a state that should have it.
	attrs map[string]string
	// of maps a state database to the migration-created roles it has.
	of     map[string][]roleRef
	hidden int
	// lockMu guards of and attrs (mu is held across whole cells).
	lockMu sync.Mutex
}

const rolesQuery = `SELECT rolname, oid,
	concat_ws(' ',
		CASE WHEN rolsuper THEN 'SUPERUSER' END,
		CASE WHEN rolcreatedb THEN 'CREATEDB' END,
		CASE WHEN rolcreaterole THEN 'CREATEROLE' END,
		CASE WHEN NOT rolinherit THEN 'NOINHERIT' END,
		CASE WHEN rolcanlogin THEN 'LOGIN' END,
		CASE WHEN rolreplication THEN 'REPLICATION' END,
		CASE WHEN rolbypassrls THEN 'BYPASSRLS' END,
		CASE WHEN rolconnlimit <> -1 THEN 'CONNECTION LIMIT ' || rolconnlimit END)
FROM pg_roles`

// roleRef is a role of a state: its name and the role it is (by OID), so
// the grants of the state's databases, which point at the OID, stay right.
type roleRef struct {
	Name string
	OID  uint32
}

type roleInfo struct {
	oid   uint32
	attrs string
}

// clusterRoles returns every role of the server.
func (r *runner) clusterRoles(ctx context.Context) (map[string]roleInfo, error) {
	out := map[string]roleInfo{}
	err := r.admin.Do(ctx, "list roles", func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, rolesQuery)
		if err != nil {
			return err
		}
		for rows.Next() {
			var name string
			var ri roleInfo
			if err := rows.Scan(&name, &ri.oid, &ri.attrs); err != nil {
				rows.Close()
				return err
			}
			out[name] = ri
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	return out, nil
}

// startRoles records the roles that exist before the run.
func (r *runner) startRoles(ctx context.Context) error {
	all, err := r.clusterRoles(ctx)
	if err != nil {
		return err
	}
	r.roles.before = map[string]bool{}
	for name := range all {
		r.roles.before[name] = true
	}
	r.roles.attrs = map[string]string{}
	r.roles.of = map[string][]roleRef{}
	r.roles.tracking = true
	return nil
}

// endPristineRoles switches role management on when a migration of the
// pristine chain created a role, off otherwise.
func (r *runner) endPristineRoles() {
	// Written only when it changes: pristine cells may be reading it.
	if active := r.createdAnyRole(); active != r.roles.active {
		r.roles.active = active
	}
	r.roles.tracking = r.roles.active
}

// createdAnyRole reports whether a migration created a role so far.
func (r *runner) createdAnyRole() bool {
	r.roles.lockMu.Lock()
	defer r.roles.lockMu.Unlock()
	return len(r.roles.attrs) > 0
}

// migrationRoles returns the roles that exist now under their own name
// and did not exist before the run, by name, remembering their options.
func (r *runner) migrationRoles(ctx context.Context) ([]roleRef, error) {
	all, err := r.clusterRoles(ctx)
	if err != nil {
		return nil, err
	}
	var out []roleRef
	r.roles.lockMu.Lock()
	defer r.roles.lockMu.Unlock()
	for name, ri := range all {
		if r.roles.before[name] || strings.HasPrefix(name, r.hiddenPrefix()) {
			continue
		}
		if _, ok := r.roles.attrs[name]; !ok {
			r.roles.attrs[name] = ri.attrs
		}
		out = append(out, roleRef{Name: name, OID: ri.oid})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// recordRoles records the migration-created roles of state db as they are
// now: always on the pristine chain (built alone, first), then only when a
// migration there created a role.
func (r *runner) recordRoles(ctx context.Context, db string) error {
	if !r.roles.tracking {
		return nil
	}
	refs, err := r.migrationRoles(ctx)
	if err != nil {
		return err
	}
	r.setRolesOf(db, refs)
	return nil
}

func (r *runner) setRolesOf(db string, refs []roleRef) {
	r.roles.lockMu.Lock()
	defer r.roles.lockMu.Unlock()
	r.roles.of[db] = refs
}

// rolesOf returns the migration-created roles state db should have.
func (r *runner) rolesOf(db string) []roleRef {
	r.roles.lockMu.Lock()
	defer r.roles.lockMu.Unlock()
	return r.roles.of[db]
}

func (r *runner) hiddenPrefix() string { return r.cfg.Prefix + "_gone_" }

// withRoles runs fn with the cluster's migration-created roles set to want,
// and made private to database db (see privatize), holding the role lock,
// when role management is on; else it just runs fn.
func (r *runner) withRoles(ctx context.Context, db string, want []roleRef, fn func() error) error {
	if !r.roles.active {
		return fn()
	}
	r.roles.mu.Lock()
	defer r.roles.mu.Unlock()
	if err := r.setRoles(ctx, want); err != nil {
		return err
	}
	if err := r.privatize(ctx, db, want); err != nil {
		return err
	}
	return fn()
}

// grantsQuery lists, as GRANT statements to $1, the privileges role $2 holds
// on the objects of the current database.
const grantsQuery = `WITH g AS (
	SELECT format('ON %s %s', CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.oid::regclass) AS obj, NULL::name AS col, a.*
	FROM pg_class c, aclexplode(c.relacl) a
	UNION ALL SELECT format('ON TABLE %s', att.attrelid::regclass), att.attname, a.*
	FROM pg_attribute att, aclexplode(att.attacl) a
	UNION ALL SELECT format('ON SCHEMA %I', n.nspname), NULL, a.*
	FROM pg_namespace n, aclexplode(n.nspacl) a
	UNION ALL SELECT format('ON ROUTINE %s', p.oid::regprocedure), NULL, a.*
	FROM pg_proc p, aclexplode(p.proacl) a
	UNION ALL SELECT format('ON TYPE %s', t.oid::regtype), NULL, a.*
	FROM pg_type t, aclexplode(t.typacl) a
)
SELECT format('GRANT %s%s %s TO %I%s', privilege_type, CASE WHEN col IS NOT NULL THEN format(' (%I)', col) ELSE '' END,
	obj, $1::text, CASE WHEN is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
FROM g WHERE grantee = (SELECT oid FROM pg_roles WHERE rolname = $2)`

// privatize gives database db its own copy of each role in want that other
// databases of the server also reference (clones of a state share its
// roles' OIDs, and DROP ROLE fails while any database references the
// role): a fresh role takes over db's grants and objects, memberships
// included, and the old one is renamed out of the way, keeping the grants
// of the other databases.
func (r *runner) privatize(ctx context.Context, db string, want []roleRef) error {
	if len(want) == 0 {
		return nil
	}
	admin, err := pgx.Connect(ctx, r.cfg.AdminDSN)
	if err != nil {
		return fmt.Errorf("give %s its own roles: %w", db, err)
	}
	defer admin.Close(context.Background())
	conn, err := r.connect(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, ref := range want {
		name := ref.Name
		var shared bool
		if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_shdepend s JOIN pg_roles ro ON ro.oid = s.refobjid
			WHERE s.refclassid = 'pg_authid'::regclass AND ro.rolname = $1
			AND s.dbid NOT IN (0, (SELECT oid FROM pg_database WHERE datname = $2)))`, name, db).Scan(&shared); err != nil {
			return fmt.Errorf("give %s its own role %s: %w", db, name, err)
		}
		if !shared {
			continue
		}
		if err := r.replaceRole(ctx, admin, conn, name); err != nil {
			return fmt.Errorf("give %s its own role %s: %w", db, name, err)
		}
	}
	return nil
}

// replaceRole moves conn's database from role name to a fresh role that
// then takes the name.
func (r *runner) replaceRole(ctx context.Context, admin, conn *pgx.Conn, name string) error {
	fresh, hidden := r.nextHidden(), r.nextHidden()
	r.roles.lockMu.Lock()
	attrs := r.roles.attrs[name]
	r.roles.lockMu.Unlock()
	id := pgx.Identifier{name}.Sanitize()
	freshID := pgx.Identifier{fresh}.Sanitize()
	if _, err := admin.Exec(ctx, "CREATE ROLE "+freshID+" "+attrs); err != nil {
		return err
	}
	// Cluster-wide memberships, both ways.
	rows, err := admin.Query(ctx, `SELECT format('GRANT %I TO %I', g.rolname, $2::text) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = $1)
		UNION ALL SELECT format('GRANT %I TO %I', $2::text, mm.rolname) FROM pg_auth_members m JOIN pg_roles mm ON mm.oid = m.member WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = $1)`, name, fresh)
	if err != nil {
		return err
	}
	stmts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	rows, err = conn.Query(ctx, grantsQuery, fresh, name)
	if err != nil {
		return err
	}
	grants, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, st := range stmts {
		if _, err := admin.Exec(ctx, st); err != nil {
			return fmt.Errorf("%s: %w", st, err)
		}
	}
	for _, st := range grants {
		if _, err := conn.Exec(ctx, st); err != nil {
			return fmt.Errorf("%s: %w", st, err)
		}
	}
	for _, st := range []string{"REASSIGN OWNED BY " + id + " TO " + freshID, "DROP OWNED BY " + id} {
		if _, err := conn.Exec(ctx, st); err != nil {
			return fmt.Errorf("%s: %w", st, err)
		}
	}
	for _, st := range []string{"ALTER ROLE " + id + " RENAME TO " + pgx.Identifier{hidden}.Sanitize(), "ALTER ROLE " + freshID + " RENAME TO " + id} {
		if _, err := admin.Exec(ctx, st); err != nil {
			return fmt.Errorf("%s: %w", st, err)
		}
	}
	return nil
}

// setRoles makes the migration-created roles of the cluster exactly want:
// each name is the role (OID) the state has when it still exists (renamed
// back from out of the way), else a new role with the same options; the
// other roles are dropped, or renamed out of the way while other states'
// objects depend on them.
func (r *runner) setRoles(ctx context.Context, want []roleRef) error {
	all, err := r.clusterRoles(ctx)
	if err != nil {
		return err
	}
	have, err := r.migrationRoles(ctx)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, r.cfg.AdminDSN)
	if err != nil {
		return fmt.Errorf("set roles: %w", err)
	}
	defer conn.Close(context.Background())
	wanted := map[string]roleRef{}
	for _, ref := range want {
		wanted[ref.Name] = ref
	}
	for _, h := range have {
		if w, ok := wanted[h.Name]; ok && w.OID == h.OID {
			delete(wanted, h.Name)
			continue
		}
		if _, err := conn.Exec(ctx, "DROP ROLE "+pgx.Identifier{h.Name}.Sanitize()); err == nil {
			continue
		}
		if _, err := conn.Exec(ctx, "ALTER ROLE "+pgx.Identifier{h.Name}.Sanitize()+" RENAME TO "+pgx.Identifier{r.nextHidden()}.Sanitize()); err != nil {
			return fmt.Errorf("set roles: free the name of role %s for another state: %w", h.Name, err)
		}
	}
	byOID := map[uint32]string{}
	for name, ri := range all {
		byOID[ri.oid] = name
	}
	for name, ref := range wanted {
		id := pgx.Identifier{name}.Sanitize()
		if old, ok := byOID[ref.OID]; ok && old != name && strings.HasPrefix(old, r.hiddenPrefix()) {
			if _, err := conn.Exec(ctx, "ALTER ROLE "+pgx.Identifier{old}.Sanitize()+" RENAME TO "+id); err != nil {
				return fmt.Errorf("set roles: give role %s its name back for its state: %w", name, err)
			}
			continue
		}
		r.roles.lockMu.Lock()
		attrs := r.roles.attrs[name]
		r.roles.lockMu.Unlock()
		if _, err := conn.Exec(ctx, "CREATE ROLE "+id+" "+attrs); err != nil {
			return fmt.Errorf("set roles: recreate role %s for its state: %w", name, err)
		}
	}
	return nil
}

// nextHidden returns a fresh name to move a role out of the way.
func (r *runner) nextHidden() string {
	r.roles.lockMu.Lock()
	defer r.roles.lockMu.Unlock()
	r.roles.hidden++
	return fmt.Sprintf("%s%d", r.hiddenPrefix(), r.roles.hidden)
}

// rolesDiff describes how the migration-created roles after a down differ
// from those of the state before the up, by name ("" when equal).
func rolesDiff(want, got []roleRef) string {
	w, g := map[string]bool{}, map[string]bool{}
	for _, ref := range want {
		w[ref.Name] = true
	}
	for _, ref := range got {
		g[ref.Name] = true
	}
	var lines []string
	for _, ref := range got {
		if !w[ref.Name] {
			lines = append(lines, "role "+ref.Name+" still exists (created by the up, not dropped)")
		}
	}
	for _, ref := range want {
		if !g[ref.Name] {
			lines = append(lines, "role "+ref.Name+" is missing (dropped and not recreated)")
		}
	}
	return strings.Join(lines, "\n")
}

// cleanupRoles removes the roles the run created (best effort: a kept or
// disposable server keeps them).
func (r *runner) cleanupRoles(ctx context.Context) {
	if !r.roles.active {
		return
	}
	all, err := r.clusterRoles(ctx)
	if err != nil {
		r.cfg.Logger.Warn("clean up roles", "err", err)
		return
	}
	conn, err := pgx.Connect(ctx, r.cfg.AdminDSN)
	if err != nil {
		r.cfg.Logger.Warn("clean up roles", "err", err)
		return
	}
	defer conn.Close(context.Background())
	for name := range all {
		if r.roles.before[name] {
			continue
		}
		if _, err := conn.Exec(ctx, "DROP ROLE "+pgx.Identifier{name}.Sanitize()); err != nil {
			r.cfg.Logger.Warn("clean up roles", "role", name, "err", err)
		}
	}
}
