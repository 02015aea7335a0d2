package seed

import (
	"math/rand/v2"
	"testing"

	"github.com/brianvoe/gofakeit/v7"
	"github.com/stretchr/testify/require"
)

// TestFakesMatchGofakeit: the list-once generators give what gofakeit
// gives from the same random source, value for value, and leave the source
// where gofakeit leaves it (an upgrade of gofakeit that changes either
// fails here).
func TestFakesMatchGofakeit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ours   func(*gofakeit.Faker) string
		theirs func(*gofakeit.Faker) string
	}{
		{"Email", fakeEmail, (*gofakeit.Faker).Email},
		{"FirstName", fakeFirstName, (*gofakeit.Faker).FirstName},
		{"LastName", fakeLastName, (*gofakeit.Faker).LastName},
		{"Name", fakeName, (*gofakeit.Faker).Name},
		{"CountryAbr", fakeCountryAbr, (*gofakeit.Faker).CountryAbr},
		{"Country", fakeCountry, (*gofakeit.Faker).Country},
		{"City", fakeCity, (*gofakeit.Faker).City},
		{"Company", fakeCompany, (*gofakeit.Faker).Company},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := gofakeit.NewFaker(rand.NewPCG(7, 11), false)
			b := gofakeit.NewFaker(rand.NewPCG(7, 11), false)
			for i := range 20000 {
				require.Equal(t, tc.theirs(b), tc.ours(a), "draw %d", i)
			}
			require.Equal(t, b.Uint64(), a.Uint64(), "the random source after 20000 draws")
		})
	}
}
