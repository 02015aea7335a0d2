package rehearsal

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rehearse-dev/rehearse/harness/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestHoldPrefix: while a run holds its database prefix on a server, a
// second run with the same prefix refuses to start; another prefix, or the
// same one once released, starts.
func TestHoldPrefix(t *testing.T) {
	ctx := context.Background()
	admin := pgtest.AdminDSN(t)
	release, err := holdPrefix(ctx, admin, "rehearse_test_a")
	require.NoError(t, err)

	_, err = holdPrefix(ctx, admin, "rehearse_test_a")
	require.ErrorIs(t, err, errPrefixHeld)
	assert.Contains(t, err.Error(), "rehearse_test_a_*")

	other, err := holdPrefix(ctx, admin, "rehearse_test_b")
	require.NoError(t, err)
	other()

	release()
	again, err := holdPrefix(ctx, admin, "rehearse_test_a")
	require.NoError(t, err)
	again()
}

// TestNewRunIDUnique: ids made in the same second differ and stay valid
// in database and folder names.
func TestNewRunIDUnique(t *testing.T) {
	now := time.Date(2026, 12, 4, 19, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	for range 200 {
		id := newRunID(now)
		assert.Regexp(t, regexp.MustCompile(`^20261204-190000-[0-9a-f]{6}$`), id)
		seen[id] = true
	}
	assert.Greater(t, len(seen), 190, "random part differs between runs of the same second")
}
