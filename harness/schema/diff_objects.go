package schema

import (
	"fmt"
	"strings"
)

// ownerAfter translates a sequence's "schema.table.column" owner from
// before's names to after's.
func (d *differ) ownerAfter(owner string) string {
	i := strings.LastIndexByte(owner, '.')
	if i < 0 {
		return owner
	}
	table, col := owner[:i], owner[i+1:]
	at, ok := d.tableMap[table]
	if !ok {
		return owner
	}
	if ac, ok := d.colMaps[table][col]; ok {
		return at + "." + ac
	}
	return owner
}

func seqText(s *Sequence, owner string) string {
	t := fmt.Sprintf("%s increment %d start %d min %d max %d", s.Type, s.Increment, s.Start, s.Min, s.Max)
	if s.Cycle {
		t += " cycle"
	}
	if owner != "" {
		t += " owned by " + owner
	}
	return t
}

func (d *differ) sequences() {
	list := func(snap *Snapshot, owner func(string) string) []named {
		var out []named
		for _, k := range sortedKeys(snap.Sequences) {
			s := snap.Sequences[k]
			text := seqText(s, s.OwnedBy)
			sig := seqText(s, owner(s.OwnedBy))
			out = append(out, named{key: k, oid: s.OID, name: k, sig: plain(sig), text: text})
		}
		return out
	}
	same := func(s string) string { return s }
	d.diffNamed("sequence", list(d.before, d.ownerAfter), list(d.after, same), noRenames, func(ch *Change, b, a *named) {
		if a != nil {
			ch.Owner = d.after.Sequences[a.key].OwnedBy
		} else if b != nil {
			ch.Owner = d.before.Sequences[b.key].OwnedBy
		}
	})
}

func (d *differ) enums() {
	bs, as := d.before.Enums, d.after.Enums
	bKeys, aKeys := sortedKeys(bs), sortedKeys(as)
	bIDs, aIDs := make([]ident, len(bKeys)), make([]ident, len(aKeys))
	for i, k := range bKeys {
		bIDs[i] = ident{key: k, oid: bs[k].OID}
	}
	for i, k := range aKeys {
		aIDs[i] = ident{key: k, oid: as[k].OID}
	}
	pairs := match(bIDs, aIDs)
	usedA := map[int]bool{}
	for i, k := range bKeys {
		j, ok := pairs[i]
		if !ok {
			d.add(Change{Kind: KindDropEnum, Table: k, Object: k, Before: strings.Join(bs[k].Labels, ", ")})
			continue
		}
		usedA[j] = true
		ak := aKeys[j]
		if k != ak {
			d.add(Change{Kind: KindRenameEnum, Table: ak, Object: ak, Before: k, After: ak})
		}
		bl, al := bs[k].Labels, as[ak].Labels
		if added, ok := addedLabels(bl, al); ok {
			for _, l := range added {
				d.add(Change{Kind: KindAddEnumValue, Table: ak, Object: ak, After: l})
			}
		} else {
			d.add(Change{Kind: KindChangeEnum, Table: ak, Object: ak, Before: strings.Join(bl, ", "), After: strings.Join(al, ", ")})
		}
	}
	for _, j := range unmatched(len(aKeys), func(j int) bool { return usedA[j] }) {
		k := aKeys[j]
		d.add(Change{Kind: KindAddEnum, Table: k, Object: k, After: strings.Join(as[k].Labels, ", ")})
	}
}

// addedLabels returns the labels of after not in before when before is a
// subsequence of after (what ALTER TYPE ... ADD VALUE can do).
func addedLabels(before, after []string) ([]string, bool) {
	var added []string
	i := 0
	for _, l := range after {
		if i < len(before) && before[i] == l {
			i++
			continue
		}
		added = append(added, l)
	}
	return added, i == len(before)
}

func (d *differ) domains() {
	list := func(snap *Snapshot) []named {
		var out []named
		for _, k := range sortedKeys(snap.Domains) {
			x := snap.Domains[k]
			text := x.BaseType
			if x.NotNull {
				text += " NOT NULL"
			}
			if x.Default != "" {
				text += " DEFAULT " + x.Default
			}
			for _, c := range x.Checks {
				text += " " + c
			}
			out = append(out, named{key: k, oid: x.OID, name: k, sig: plain(text), text: text})
		}
		return out
	}
	d.diffNamed("domain", list(d.before), list(d.after), noRenames, nil)
}

func (d *differ) views() {
	list := func(snap *Snapshot) []named {
		var out []named
		for _, k := range sortedKeys(snap.Views) {
			v := snap.Views[k]
			def := v.Def
			if v.Materialized {
				def = "MATERIALIZED " + def
			}
			out = append(out, named{key: k, oid: v.OID, name: k, text: def,
				sig: func(m map[string]string) string { return canon(def, m) }})
		}
		return out
	}
	global := d.globalRenames()
	d.diffNamed("view", list(d.before), list(d.after), func(named, named) map[string]string { return global }, nil)
}

func (d *differ) extensions() {
	for _, k := range sortedKeys(d.before.Extensions) {
		bv := d.before.Extensions[k]
		av, ok := d.after.Extensions[k]
		switch {
		case !ok:
			d.add(Change{Kind: KindDropExtension, Table: k, Object: k, Before: bv})
		case av != bv:
			d.add(Change{Kind: KindChangeExtension, Table: k, Object: k, Before: bv, After: av})
		}
	}
	for _, k := range sortedKeys(d.after.Extensions) {
		if _, ok := d.before.Extensions[k]; !ok {
			d.add(Change{Kind: KindAddExtension, Table: k, Object: k, After: d.after.Extensions[k]})
		}
	}
}
