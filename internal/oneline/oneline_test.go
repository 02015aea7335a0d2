package oneline

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFirst(t *testing.T) {
	assert.Equal(t, "a", First("a\nb"))
	assert.Equal(t, "abc", First("abc"))
	assert.Equal(t, "", First("\nb"))
}

func TestShorten(t *testing.T) {
	assert.Equal(t, "a b c", Shorten("a\n b\tc", 10))
	assert.Equal(t, "abcdefg...", Shorten("abcdefghijklmn", 10))
}
