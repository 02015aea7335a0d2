package seed

import (
	"strconv"

	"github.com/brianvoe/gofakeit/v7"
	"github.com/brianvoe/gofakeit/v7/data"
)

// gofakeit looks its word lists up by name on every call (four map lookups
// per value, a third of a customers row's generation). The generators that
// fill most columns take their lists once here and draw exactly what
// gofakeit draws, so the data is the same value for value
// (TestFakesMatchGofakeit).
type fakeList []string

// pick is gofakeit's getRandValue on a list looked up once.
func (l fakeList) pick(f *gofakeit.Faker) string { return l[f.IntN(len(l))] }

var (
	firstNames     = fakeList(data.Person["first"])
	lastNames      = fakeList(data.Person["last"])
	domainSuffixes = fakeList(data.Internet["domain_suffix"])
	countryAbrs    = fakeList(data.Address["country_abr"])
	countries      = fakeList(data.Address["country"])
	cities         = fakeList(data.Address["city"])
	companies      = fakeList(data.Company["name"])
)

func fakeFirstName(f *gofakeit.Faker) string  { return firstNames.pick(f) }
func fakeLastName(f *gofakeit.Faker) string   { return lastNames.pick(f) }
func fakeName(f *gofakeit.Faker) string       { return firstNames.pick(f) + " " + lastNames.pick(f) }
func fakeCountryAbr(f *gofakeit.Faker) string { return countryAbrs.pick(f) }
func fakeCountry(f *gofakeit.Faker) string    { return countries.pick(f) }
func fakeCity(f *gofakeit.Faker) string       { return cities.pick(f) }
func fakeCompany(f *gofakeit.Faker) string    { return companies.pick(f) }

// fakeEmail is gofakeit's Email (v7.18.2) on lists looked up once.
func fakeEmail(f *gofakeit.Faker) string {
	first, last, domain := firstNames.pick(f), lastNames.pick(f), lastNames.pick(f)
	suffix := domainSuffixes.pick(f)
	b := make([]byte, 0, len(first)+len(last)+len(domain)+len(suffix)+6)
	lower := func(c byte) byte {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		return c
	}
	appendLower := func(s string) {
		for i := 0; i < len(s); i++ {
			b = append(b, lower(s[i]))
		}
	}
	appendFirstLower := func(s string) {
		if len(s) > 0 {
			b = append(b, lower(s[0]))
		}
	}
	mix := f.Uint64()
	w := mix % 100
	mix /= 100
	switch {
	case w < 38:
		appendLower(first)
		appendLower(last)
	case w < 66:
		appendLower(first)
		b = append(b, '.')
		appendLower(last)
	case w < 80:
		appendFirstLower(first)
		appendLower(last)
	case w < 88:
		appendLower(first)
		appendFirstLower(last)
	case w < 94:
		appendLower(first)
		b = append(b, '_')
		appendLower(last)
	default:
		appendLower(first)
		b = append(b, '-')
		appendLower(last)
	}
	if mix%100 < 10 {
		mix /= 100
		sub := mix % 100
		if sub < 30 {
			b = append(b, byte('0'+byte(2+sub%8)))
		} else {
			b = strconv.AppendInt(b, int64(sub%90+10), 10)
		}
	}
	b = append(b, '@')
	appendLower(domain)
	b = append(b, '.')
	b = append(b, suffix...)
	return string(b)
}
