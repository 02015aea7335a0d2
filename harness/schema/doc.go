// Package schema takes catalog snapshots of a PostgreSQL database, diffs
// them by OID and attnum (so a rename is a rename), and classifies a
// migration from the diff.
//
//   - Take reads pg_catalog in one round trip (one statement per object
//     kind) and skips pg_catalog, information_schema, pg_toast*, the
//     harness's own schema and objects that belong to extensions.
//   - Diff matches objects by OID first and by name second (see Diff for
//     why both), and reports structured Changes (the Kind* constants).
//   - Classify maps a Changeset to one migration class.
//
// Each change kind has one class:
//
//	change kind                                   class
//	add-table                                     add-table
//	add-sequence/-view/-function/-enum/-domain/   add-table (a new object; nothing old changes)
//	  -extension
//	drop-table, drop-sequence/-view/-function/    drop-table (what old code used is gone)
//	  -enum/-domain/-extension
//	rename-table, rename-view/-sequence/          rename-table (old code naming it breaks)
//	  -function/-enum/-domain
//	add-column / drop-column / rename-column      add-column / drop-column / rename-column
//	column-type, column-collation,                type-change (the column's definition changed)
//	  column-generated, set/drop/change-default,
//	  column-identity
//	change-sequence/-function/-domain/-enum/      type-change (an existing object redefined)
//	  -extension, change-owner
//	add-constraint, change-constraint,            add-constraint (restricts what can be written;
//	  set-not-null, add-trigger, change-trigger     a changed one may reject more)
//	add-index, change-index                       add-index; add-constraint when the index is
//	                                                unique (it rejects writes like a UNIQUE)
//	drop-constraint, drop-not-null, drop-index,   drop-constraint (relaxes: N+1 may write what N
//	  drop-trigger                                  rejected; a dropped plain index only costs speed)
//	add-enum-value                                add-enum-value (the enum accepts values N's
//	                                                code may not know; it cannot be dropped again)
//	acl-change (tables, sequences)                add-constraint when a privilege was revoked,
//	                                                drop-constraint when only granted
//	rename-constraint, rename-index,              incidental: ignored next to other changes,
//	  rename-trigger, change-view                   else rename-table (renames) / type-change
//	table-options                                 incidental: storage (reloptions such as
//	                                                fillfactor) when nothing else changed
//	column-order                                  ignored (it never changes what code can do)
//	(no schema change, data changed, or an up     backfill (a data migration; never none)
//	  with INSERT/UPDATE/DELETE/MERGE)
//	(nothing)                                     none
//	(more than one class)                         mixed
//
// Changes that are part of a bigger change are absorbed into it before
// counting classes: the constraints, indexes, triggers and owned sequences
// of an added or dropped table; foreign keys to a dropped table; the
// constraints, indexes and serial sequence of an added or dropped column;
// the sequence of a column that became or stopped being an identity;
// constraint, index and default changes on a column that was retyped or
// renamed. A data change next to schema changes adds backfill (so mixed).
package schema
