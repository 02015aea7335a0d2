package schema

import (
	"sort"
	"strings"
)

// privileges compares the owners and ACLs of two matched tables.
func (d *differ) privileges(bt, at *Table) {
	if bt.Owner != at.Owner && bt.Owner != "" && at.Owner != "" {
		d.add(Change{Kind: KindChangeOwner, Table: at.QualifiedName(), Before: bt.Owner, After: at.Owner})
	}
	if b, a := strings.Join(bt.ACL, ","), strings.Join(at.ACL, ","); b != a {
		d.add(Change{Kind: KindACLChange, Table: at.QualifiedName(), Before: b, After: a, Owner: at.Owner})
	}
}

// sequencePrivileges compares the ACLs of the sequences both snapshots
// have (matched by OID, else by name): a down that grants USAGE it never
// had is as much a difference as one on a table.
func (d *differ) sequencePrivileges() {
	byOID := map[uint32]*Sequence{}
	for _, s := range d.before.Sequences {
		byOID[s.OID] = s
	}
	for _, k := range sortedKeys(d.after.Sequences) {
		as := d.after.Sequences[k]
		bs := byOID[as.OID]
		if bs == nil {
			bs = d.before.Sequences[k]
		}
		if bs == nil {
			continue
		}
		if b, a := strings.Join(bs.ACL, ","), strings.Join(as.ACL, ","); b != a {
			d.add(Change{Kind: KindACLChange, Table: k, Object: k, Before: b, After: a, Owner: as.Role})
		}
	}
}

// privilegeNames are the ACL letters of a table (aclitem's text form).
var privilegeNames = map[rune]string{
	'r': "SELECT", 'a': "INSERT", 'w': "UPDATE", 'd': "DELETE", 'D': "TRUNCATE",
	'x': "REFERENCES", 't': "TRIGGER", 'm': "MAINTAIN",
}

// PrivilegeDelta says, per role, which table privileges an ACL change gave
// or took, e.g. "app gains UPDATE, DELETE". ACLs are "grantee=privs/grantor"
// items joined by ","; an empty one is the default: owner has everything.
// Grantors are ignored (a privilege is held whoever granted it).
func PrivilegeDelta(before, after, owner string) []string {
	b, a := aclPrivileges(before, owner), aclPrivileges(after, owner)
	roles := map[string]bool{}
	for r := range b {
		roles[r] = true
	}
	for r := range a {
		roles[r] = true
	}
	var out []string
	for _, role := range sortedKeys(roles) {
		name := role
		if name == "" {
			name = "PUBLIC"
		}
		if gained := missing(a[role], b[role]); len(gained) > 0 {
			out = append(out, name+" gains "+strings.Join(gained, ", "))
		}
		if lost := missing(b[role], a[role]); len(lost) > 0 {
			out = append(out, name+" loses "+strings.Join(lost, ", "))
		}
	}
	return out
}

// everything stands for the owner's default privileges.
const everything = '*'

func aclPrivileges(acl, owner string) map[string]map[rune]bool {
	out := map[string]map[rune]bool{}
	if acl == "" {
		if owner != "" {
			out[owner] = map[rune]bool{everything: true}
		}
		return out
	}
	for _, item := range strings.Split(acl, ",") {
		eq := strings.LastIndexByte(item, '=')
		slash := strings.LastIndexByte(item, '/')
		if eq < 0 || slash < eq {
			continue
		}
		grantee := strings.Trim(item[:eq], `"`)
		if out[grantee] == nil {
			out[grantee] = map[rune]bool{}
		}
		for _, p := range item[eq+1 : slash] {
			if p != '*' { // grant option marker
				out[grantee][p] = true
			}
		}
	}
	return out
}

// missing lists the privileges of x not in y, by name, in ACL order.
func missing(x, y map[rune]bool) []string {
	if y[everything] {
		return nil
	}
	var out []string
	for p := range x {
		if p == everything {
			continue // default privileges made explicit: nothing gained
		}
		if !y[p] {
			out = append(out, string(p))
		}
	}
	order := "rawdDxtm"
	sort.Slice(out, func(i, j int) bool { return strings.Index(order, out[i]) < strings.Index(order, out[j]) })
	for i, p := range out {
		if n, ok := privilegeNames[rune(p[0])]; ok {
			out[i] = n
		}
	}
	return out
}
