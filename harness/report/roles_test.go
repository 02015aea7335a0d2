package report

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMigrateAsShown: the role migrations ran as is in the report's header.
func TestMigrateAsShown(t *testing.T) {
	for _, as := range []string{"", "migrator"} {
		r := sampleReport()
		r.MigrateAs = as
		var md, html bytes.Buffer
		require.NoError(t, WriteMarkdown(&md, r))
		require.NoError(t, WriteHTML(&html, r))
		if as == "" {
			assert.NotContains(t, md.String(), "run as")
			assert.NotContains(t, html.String(), "run as")
			continue
		}
		assert.Contains(t, md.String(), " · migrations run as migrator")
		assert.Contains(t, html.String(), " · migrations run as migrator")
	}
}
