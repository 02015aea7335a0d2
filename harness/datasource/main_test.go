package datasource_test

import (
	"testing"

	"github.com/rehearse-dev/rehearse/harness/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
