package datasource

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/brianvoe/gofakeit/v7"
	"github.com/rehearse-dev/rehearse/harness/seed"
)

// Masker replaces one value. Equal inputs give equal outputs (the value,
// not the row, seeds it), so joins on masked columns still hold.
type Masker func(v string) (string, bool)

// MaskRuleNames lists the rules a profile's mask: section accepts; any
// gofakeit lookup name works after "faker:".
var MaskRuleNames = []string{"email", "keep-format", "hash", "null", "faker:NAME"}

// Masks is the compiled mask: section, keyed by "schema.table.column".
type Masks struct {
	byColumn map[string]Masker
	// Rules keeps each rule's text, for the report.
	Rules map[string]string
}

// CompileMasks checks a profile's mask rules. salt makes replacements
// differ between teams (a dictionary of hashed e-mails is no use).
func CompileMasks(file string, rules []*seed.MaskRule, salt string) (*Masks, error) {
	m := &Masks{byColumn: map[string]Masker{}, Rules: map[string]string{}}
	for _, r := range rules {
		key, err := maskKey(r.Column)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: mask %s: %w", file, r.Line, r.Column, err)
		}
		fn, err := masker(r.Rule, salt)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: mask %s: %w", file, r.Line, r.Column, err)
		}
		if _, dup := m.byColumn[key]; dup {
			return nil, fmt.Errorf("%s:%d: mask %s: listed twice", file, r.Line, r.Column)
		}
		m.byColumn[key] = fn
		m.Rules[key] = r.Rule
	}
	return m, nil
}

// For returns the masker of a column, or nil.
func (m *Masks) For(schemaName, table, column string) Masker {
	if m == nil {
		return nil
	}
	return m.byColumn[schemaName+"."+table+"."+column]
}

func maskKey(col string) (string, error) {
	parts := strings.Split(col, ".")
	switch len(parts) {
	case 2:
		return "public." + col, nil
	case 3:
		return col, nil
	}
	return "", fmt.Errorf("want table.column or schema.table.column")
}

func masker(rule, salt string) (Masker, error) {
	switch {
	case rule == "null":
		return func(string) (string, bool) { return "", false }, nil
	case rule == "email":
		return func(v string) (string, bool) { return maskEmail(v, salt), true }, nil
	case rule == "keep-format" || rule == "identifier":
		return func(v string) (string, bool) { return keepFormat(v, salt), true }, nil
	case rule == "hash":
		return func(v string) (string, bool) {
			h := sha256.Sum256([]byte(salt + "\x00" + v))
			return hex.EncodeToString(h[:])[:max(8, min(len(v), 64))], true
		}, nil
	case strings.HasPrefix(rule, "faker:"):
		name := strings.TrimPrefix(rule, "faker:")
		info := gofakeit.GetFuncLookup(name)
		if info == nil {
			return nil, fmt.Errorf("%q is not a gofakeit generator (e.g. faker:name, faker:phone, faker:street, faker:company)", name)
		}
		return func(v string) (string, bool) {
			f := gofakeit.New(valueSeed(salt, v))
			out, err := info.Generate(f, &gofakeit.MapParams{}, info)
			if err != nil {
				return keepFormat(v, salt), true
			}
			return fmt.Sprint(out), true
		}, nil
	}
	return nil, fmt.Errorf("unknown rule %q (want one of %s)", rule, strings.Join(MaskRuleNames, ", "))
}

func valueSeed(salt, v string) uint64 {
	h := sha256.Sum256([]byte(salt + "\x00" + v))
	return binary.LittleEndian.Uint64(h[:8])
}

// keepFormat replaces each letter by a letter of the same case and each
// digit by a digit, keeping punctuation: "AB-1234" stays a valid-looking
// identifier, and CHECKs on its shape still pass.
func keepFormat(v, salt string) string {
	h := sha256.Sum256([]byte(salt + "\x01" + v))
	out := []rune(v)
	for i, r := range out {
		b := h[i%len(h)] ^ byte(i/len(h)*31)
		switch {
		case r >= 'a' && r <= 'z':
			out[i] = 'a' + rune(b%26)
		case r >= 'A' && r <= 'Z':
			out[i] = 'A' + rune(b%26)
		case r >= '0' && r <= '9':
			out[i] = '0' + rune(b%10)
		case r > 127 && (isLetter(r)):
			out[i] = 'x'
		}
	}
	return string(out)
}

func isLetter(r rune) bool { return !strings.ContainsRune(" -_.,;:/@+()[]{}'\"", r) }

// maskEmail keeps an address's shape: the local part is replaced keeping
// its format, the domain by example.com-style names keeping its TLD.
func maskEmail(v, salt string) string {
	at := strings.LastIndex(v, "@")
	if at < 0 {
		return keepFormat(v, salt)
	}
	local, domain := v[:at], v[at+1:]
	tld := "com"
	if dot := strings.LastIndex(domain, "."); dot >= 0 {
		tld = domain[dot+1:]
	}
	return keepFormat(local, salt) + "@" + keepFormat(strings.TrimSuffix(domain, "."+tld), salt) + ".example." + tld
}

// Personal-looking columns without a rule are warned about.
var (
	personalName = regexp.MustCompile(`(?i)(^|_)(e_?mail|phone|mobile|tel|ssn|passport|birth(day|date)?|dob|address|street|zip|postcode|postal_code|iban|card_number|first_?name|last_?name|full_?name|surname|given_name|ip_?addr(ess)?|password|passwd|token|secret|tax_id|national_id)(_|$)`)
	emailValue   = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$`)
	phoneValue   = regexp.MustCompile(`^\+?[0-9][0-9 ().-]{7,}[0-9]$`)
)

// looksPersonal says why a value looks personal, or "".
func looksPersonal(v string) string {
	switch {
	case emailValue.MatchString(v):
		return "e-mail addresses"
	case phoneValue.MatchString(v):
		return "phone numbers"
	}
	return ""
}

// SampleShares turns a profile's sample: rules into per-table shares keyed
// by "schema.name" (plain names mean public).
func SampleShares(file string, rules []*seed.SampleRule) (map[string]TableSample, error) {
	out := map[string]TableSample{}
	for _, r := range rules {
		key := r.Table
		switch strings.Count(key, ".") {
		case 0:
			key = "public." + key
		case 1:
		default:
			return nil, fmt.Errorf("%s:%d: sample %s: want table or schema.table", file, r.Line, r.Table)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%s:%d: sample %s: listed twice", file, r.Line, r.Table)
		}
		out[key] = TableSample{Rows: r.Rows, Fraction: r.Fraction}
	}
	return out, nil
}
