package migrate

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStatementTables(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want []string
	}{
		{"ALTER TABLE audit_events RENAME COLUMN action TO event_type", []string{"public.audit_events"}},
		{"CREATE INDEX certificates_not_after_idx ON certificates (not_after)", []string{"public.certificates"}},
		{"UPDATE app.certificates c SET issuer_id = i.id FROM issuers i WHERE i.name = c.cn", []string{"app.certificates", "public.issuers"}},
		{"ALTER TABLE certificates ADD COLUMN issuer_id bigint REFERENCES issuers (id)", []string{"public.certificates", "public.issuers"}},
		{"DROP TABLE agent_heartbeats", []string{"public.agent_heartbeats"}},
		{"CREATE TABLE issuers (id bigserial PRIMARY KEY, agent_id bigint REFERENCES agents (id))", []string{"public.agents"}},
		{"CREATE TABLE renewal_policies (id bigserial PRIMARY KEY)", nil},
		{"CREATE MATERIALIZED VIEW v AS SELECT * FROM certificates", []string{"public.certificates"}},
		{"CREATE EXTENSION IF NOT EXISTS pgcrypto", nil},
		{"DO $$ BEGIN PERFORM 1; END $$", nil},
		{"not sql at all", nil},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			assert.Equal(t, tc.want, Statement{SQL: tc.sql}.Tables())
			if tc.sql == "CREATE TABLE renewal_policies (id bigserial PRIMARY KEY)" {
				assert.Equal(t, "public.renewal_policies", Statement{SQL: tc.sql}.Creates())
			}
		})
	}
}
