package seed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// docs/seed.md documents the name-to-generator table; this keeps the two in
// step.
func TestDocsListEveryNameRule(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "seed.md"))
	require.NoError(t, err)
	doc := string(b)
	for _, r := range nameRules {
		row := "| `" + strings.ReplaceAll(r.pattern.String(), "|", `\|`) + "` |"
		assert.True(t, strings.Contains(doc, row), "docs/seed.md lacks the row for %s", r.pattern)
	}
}

// The example profile under fixtures/data loads.
func TestExampleProfileLoads(t *testing.T) {
	p, err := LoadProfile(filepath.Join("..", "..", "fixtures", "data", "example.yaml"))
	require.NoError(t, err)
	assert.Equal(t, 500, p.Rows)
	require.Contains(t, p.Tables, "certificates")
	assert.Equal(t, 5000, p.Tables["certificates"].Rows)
	assert.Equal(t, []string{"RSA", "ECDSA"}, p.Tables["certificates"].Columns["key_algorithm"].Values)
	assert.Len(t, p.Generators, 2)
}
