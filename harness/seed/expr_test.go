package seed

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAnalyzeCommonChecks(t *testing.T) {
	tests := []struct {
		name  string
		def   string
		col   string
		check func(t *testing.T, r *colRule)
	}{
		{"in list", `CHECK ((status = ANY (ARRAY['active'::text, 'revoked'::text, 'expired'::text])))`, "status", func(t *testing.T, r *colRule) {
			assert.Equal(t, []string{"active", "revoked", "expired"}, r.choices)
		}},
		{"varchar in list", `CHECK (((kind)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[])))`, "kind", func(t *testing.T, r *colRule) {
			assert.Equal(t, []string{"a", "b"}, r.choices)
		}},
		{"range", `CHECK (((qty >= 1) AND (qty <= 100)))`, "qty", func(t *testing.T, r *colRule) {
			require.NotNil(t, r.lo)
			require.NotNil(t, r.hi)
			assert.Equal(t, 1.0, r.lo.num)
			assert.Equal(t, 100.0, r.hi.num)
		}},
		{"numeric cast", `CHECK ((price > (0)::numeric))`, "price", func(t *testing.T, r *colRule) {
			require.NotNil(t, r.lo)
			assert.False(t, r.lo.incl)
		}},
		{"negative", `CHECK ((temp > '-40'::integer))`, "temp", func(t *testing.T, r *colRule) {
			assert.Equal(t, -40.0, r.lo.num)
		}},
		{"length", `CHECK ((length((code)::text) = 3))`, "code", func(t *testing.T, r *colRule) {
			assert.Equal(t, 3, r.minLen)
			assert.Equal(t, 3, r.maxLen)
		}},
		{"char_length range", `CHECK (((char_length(name) >= 2) AND (char_length(name) <= 20)))`, "name", func(t *testing.T, r *colRule) {
			assert.Equal(t, 2, r.minLen)
			assert.Equal(t, 20, r.maxLen)
		}},
		{"regex", `CHECK (((sku)::text ~ '^[A-Z]{3}-[0-9]{4}$'::text))`, "sku", func(t *testing.T, r *colRule) {
			assert.Equal(t, []string{"^[A-Z]{3}-[0-9]{4}$"}, r.patterns)
		}},
		{"not blank", `CHECK ((btrim((hostname)::text) <> ''::text))`, "hostname", func(t *testing.T, r *colRule) {
			assert.True(t, r.nonBlank)
		}},
		{"not in", `CHECK ((code <> ALL (ARRAY['x'::text, 'y'::text])))`, "code", func(t *testing.T, r *colRule) {
			assert.Equal(t, []string{"x", "y"}, r.exclude)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := parseCheckDef(tt.def)
			require.NoError(t, err)
			assert.True(t, evaluable(n), "evaluable")
			rules := map[string]*colRule{}
			var pairs []pairRule
			analyze(n, rules, &pairs)
			require.NotNil(t, rules[tt.col], "rule for %s", tt.col)
			tt.check(t, rules[tt.col])
		})
	}
}

func TestAnalyzePairAndEval(t *testing.T) {
	n, err := parseCheckDef(`CHECK ((not_before < not_after))`)
	require.NoError(t, err)
	rules := map[string]*colRule{}
	var pairs []pairRule
	analyze(n, rules, &pairs)
	assert.Equal(t, []pairRule{{"not_before", "not_after", "<"}}, pairs)

	row := map[string]value{"not_before": {k: vStr, s: "2024-01-01 00:00:00.000000+00"}, "not_after": {k: vStr, s: "2023-01-01 00:00:00.000000+00"}}
	look := func(c string) (value, error) { return row[c], nil }
	v, err := eval(n, look)
	require.NoError(t, err)
	assert.False(t, passes(v))
	row["not_after"] = value{}
	v, err = eval(n, look)
	require.NoError(t, err)
	assert.True(t, passes(v), "NULL passes a CHECK")
}

func TestEvalOrAndOpaque(t *testing.T) {
	n, err := parseCheckDef(`CHECK (((kind = 'person'::text) AND (first_name IS NOT NULL)) OR ((kind = 'org'::text) AND (company IS NOT NULL)))`)
	require.NoError(t, err)
	require.True(t, evaluable(n))
	row := map[string]value{"kind": {k: vStr, s: "org"}, "first_name": {}, "company": {}}
	look := func(c string) (value, error) { return row[c], nil }
	v, err := eval(n, look)
	require.NoError(t, err)
	assert.False(t, passes(v))
	row["company"] = value{k: vStr, s: "ACME"}
	v, _ = eval(n, look)
	assert.True(t, passes(v))

	n, err = parseCheckDef(`CHECK ((jsonb_typeof(payload) = 'object'::text))`)
	require.NoError(t, err)
	assert.False(t, evaluable(n), "unknown functions make a CHECK opaque")
}

// TestLogicTruthTable: SQL's AND and OR over true, false and NULL (decides
// and join), the right side needed only when the left does not decide.
func TestLogicTruthTable(t *testing.T) {
	T, F, N := value{k: vBool, b: true}, value{k: vBool, b: false}, value{}
	tests := []struct {
		and        bool
		a, b, want value
		evalsB     bool
	}{
		{true, T, T, T, true}, {true, T, F, F, true}, {true, T, N, N, true},
		{true, F, T, F, false}, {true, F, N, F, false},
		{true, N, T, N, true}, {true, N, F, F, true}, {true, N, N, N, true},
		{false, T, F, T, false}, {false, T, N, T, false},
		{false, F, T, T, true}, {false, F, F, F, true}, {false, F, N, N, true},
		{false, N, T, T, true}, {false, N, F, N, true}, {false, N, N, N, true},
	}
	for _, tt := range tests {
		assert.Equal(t, !tt.evalsB, decides(tt.and, tt.a), "and=%v a=%+v: the left side decides", tt.and, tt.a)
		if tt.evalsB {
			assert.Equal(t, tt.want, join(tt.and, tt.a, tt.b), "and=%v a=%+v b=%+v", tt.and, tt.a, tt.b)
		} else {
			assert.Equal(t, tt.want, tt.a, "and=%v a=%+v decides", tt.and, tt.a)
		}
	}
}
