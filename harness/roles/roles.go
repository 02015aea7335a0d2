// Package roles creates production's roles on the harness's server, so
// migrations can run as the role they run as in production (--migrate-as)
// and privileges can be compared per role.
//
// Roles are server-wide: Ensure creates the missing ones once per run and
// returns which it made, so the run drops exactly those at the end and
// never a role that was on the server before (a user's --dsn server).
// Passwords are never read or set: the harness connects as its own
// superuser and switches to the role with SET SESSION AUTHORIZATION.
package roles

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Role is one production role: the attributes that decide what a
// migration running as it (or a member of it) may do.
type Role struct {
	Name        string
	Login       bool
	Inherit     bool
	Superuser   bool
	CreateDB    bool
	CreateRole  bool
	Replication bool
	BypassRLS   bool
	// MemberOf are the roles this one is granted (GRANT parent TO Name).
	MemberOf []string
	// File and Line say where the role was declared, for errors.
	File string
	Line int
}

func (r Role) where() string { return fmt.Sprintf("%s:%d", r.File, r.Line) }

// attrs renders the attributes as CREATE ROLE options and as the text
// compared with an existing role.
func (r Role) attrs() string {
	flag := func(on bool, name string) string {
		if on {
			return name
		}
		return "NO" + name
	}
	return strings.Join([]string{
		flag(r.Login, "LOGIN"), flag(r.Inherit, "INHERIT"), flag(r.Superuser, "SUPERUSER"),
		flag(r.CreateDB, "CREATEDB"), flag(r.CreateRole, "CREATEROLE"),
		flag(r.Replication, "REPLICATION"), flag(r.BypassRLS, "BYPASSRLS"),
	}, " ")
}

// Ensure creates each role that does not exist on the server behind conn
// (a superuser connection), then the memberships of the roles it created.
// A role that exists with the same attributes and memberships is used as it
// is; one that differs is an error naming the role, the difference and the
// line that declared it. The role conn is logged in as is skipped (it is
// the harness's own). created lists the roles made, in creation order.
func Ensure(ctx context.Context, conn *pgx.Conn, roles []Role) (created []string, err error) {
	var self string
	if err := conn.QueryRow(ctx, `SELECT current_user::text`).Scan(&self); err != nil {
		return nil, fmt.Errorf("create roles: %w", err)
	}
	made := map[string]bool{}
	for _, r := range roles {
		if r.Name == self {
			continue
		}
		have, ok, err := existing(ctx, conn, r.Name)
		if err != nil {
			return created, err
		}
		if ok {
			if diff := compare(r, have); diff != "" {
				return created, fmt.Errorf("%s: role %s already exists on the server and differs from production's: %s; drop or fix it there, or point the harness at a server without it", r.where(), r.Name, diff)
			}
			continue
		}
		if _, err := conn.Exec(ctx, "CREATE ROLE "+pgx.Identifier{r.Name}.Sanitize()+" WITH "+r.attrs()); err != nil {
			return created, fmt.Errorf("%s: create role %s: %w", r.where(), r.Name, err)
		}
		created = append(created, r.Name)
		made[r.Name] = true
	}
	for _, r := range roles {
		if !made[r.Name] {
			continue
		}
		for _, parent := range r.MemberOf {
			if _, err := conn.Exec(ctx, "GRANT "+pgx.Identifier{parent}.Sanitize()+" TO "+pgx.Identifier{r.Name}.Sanitize()); err != nil {
				return created, fmt.Errorf("%s: grant %s to %s: %w", r.where(), parent, r.Name, err)
			}
		}
	}
	return created, nil
}

// existing reads role name's attributes and memberships from the server.
func existing(ctx context.Context, conn *pgx.Conn, name string) (Role, bool, error) {
	r := Role{Name: name}
	err := conn.QueryRow(ctx, `SELECT rolcanlogin, rolinherit, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,
	ARRAY(SELECT p.rolname::text FROM pg_auth_members m JOIN pg_roles p ON p.oid = m.roleid WHERE m.member = r.oid ORDER BY 1)
FROM pg_roles r WHERE rolname = $1`, name).Scan(&r.Login, &r.Inherit, &r.Superuser, &r.CreateDB, &r.CreateRole, &r.Replication, &r.BypassRLS, &r.MemberOf)
	if errors.Is(err, pgx.ErrNoRows) {
		return Role{}, false, nil
	}
	if err != nil {
		return Role{}, false, fmt.Errorf("read role %s: %w", name, err)
	}
	return r, true, nil
}

// compare says how have differs from want, "" when it does not.
func compare(want, have Role) string {
	var out []string
	w, h := strings.Fields(want.attrs()), strings.Fields(have.attrs())
	for i := range w {
		if w[i] != h[i] {
			out = append(out, fmt.Sprintf("%s on the server, %s in production", h[i], w[i]))
		}
	}
	wm, hm := append([]string(nil), want.MemberOf...), append([]string(nil), have.MemberOf...)
	sort.Strings(wm)
	sort.Strings(hm)
	if strings.Join(wm, ",") != strings.Join(hm, ",") {
		out = append(out, fmt.Sprintf("member of [%s] on the server, [%s] in production", strings.Join(hm, ", "), strings.Join(wm, ", ")))
	}
	return strings.Join(out, "; ")
}

// Drop drops the roles a run created (Ensure's created), last first. The
// databases that held their objects must be gone already.
func Drop(ctx context.Context, conn *pgx.Conn, created []string) error {
	var errs []error
	for i := len(created) - 1; i >= 0; i-- {
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{created[i]}.Sanitize()); err != nil {
			errs = append(errs, fmt.Errorf("drop role %s: %w", created[i], err))
		}
	}
	return errors.Join(errs...)
}

// Exists reports whether role name exists on the server.
func Exists(ctx context.Context, conn *pgx.Conn, name string) (bool, error) {
	_, ok, err := existing(ctx, conn, name)
	return ok, err
}
