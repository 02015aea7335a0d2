package schema

import (
	"regexp"
)

func (d *differ) functions() {
	list := func(snap *Snapshot) []named {
		var out []named
		for _, k := range sortedKeys(snap.Functions) {
			f := snap.Functions[k]
			def := f.Def
			out = append(out, named{key: k, oid: f.OID, name: k, text: def,
				sig: func(m map[string]string) string { return canon(def, m) }})
		}
		return out
	}
	d.diffNamed("function", list(d.before), list(d.after), func(b, a named) map[string]string {
		bf, af := d.before.Functions[b.key], d.after.Functions[a.key]
		if bf.Name == af.Name {
			return nil
		}
		return map[string]string{bf.Name: af.Name}
	}, nil)
}

// triggerHeadRe matches "CREATE [CONSTRAINT] TRIGGER name ".
var triggerHeadRe = regexp.MustCompile(`^CREATE (CONSTRAINT )?TRIGGER (?:"(?:[^"]|"")*"|[^\s"])+ `)

func (d *differ) triggers() {
	bKeys, aKeys := sortedKeys(d.before.Triggers), sortedKeys(d.after.Triggers)
	bIDs, aIDs := make([]ident, len(bKeys)), make([]ident, len(aKeys))
	for i, k := range bKeys {
		t := d.before.Triggers[k]
		table := t.Table
		if at, ok := d.tableMap[table]; ok {
			table = at
		}
		bIDs[i] = ident{key: table + "." + t.Name, oid: t.OID}
	}
	for i, k := range aKeys {
		aIDs[i] = ident{key: k, oid: d.after.Triggers[k].OID}
	}
	sig := func(t *Trigger, m map[string]string) string {
		return canon(triggerHeadRe.ReplaceAllString(t.Def, "CREATE ${1}TRIGGER "), m)
	}
	pairs := match(bIDs, aIDs)
	usedA := map[int]bool{}
	for i, k := range bKeys {
		bt := d.before.Triggers[k]
		j, ok := pairs[i]
		if !ok {
			d.add(Change{Kind: KindDropTrigger, Table: bt.Table, Object: bt.Name, Before: bt.Def})
			continue
		}
		usedA[j] = true
		at := d.after.Triggers[aKeys[j]]
		if bt.Name != at.Name {
			d.add(Change{Kind: KindRenameTrigger, Table: at.Table, Object: at.Name, Before: bt.Name, After: at.Name})
		}
		if sig(bt, d.renameMap(bt.Table, "")) != sig(at, nil) {
			d.add(Change{Kind: KindChangeTrigger, Table: at.Table, Object: at.Name, Before: bt.Def, After: at.Def})
		}
	}
	for _, j := range unmatched(len(aKeys), func(j int) bool { return usedA[j] }) {
		at := d.after.Triggers[aKeys[j]]
		d.add(Change{Kind: KindAddTrigger, Table: at.Table, Object: at.Name, After: at.Def})
	}
}
