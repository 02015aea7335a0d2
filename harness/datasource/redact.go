package datasource

import (
	"io"
	"reflect"
	"regexp"
)

// Masked replaces row values quoted in an error detail.
const Masked = "(masked)"

var rowValueQuotes = []struct {
	re   *regexp.Regexp
	with string
}{
	// Key (email)=(a@b.c) already exists. / is not present in table / is duplicated.
	{regexp.MustCompile(`(Key \([^)]*\))=\(.*?\)( already exists| is not present| is still referenced| is duplicated| conflicts with|\.|$)`), "$1=" + Masked + "$2"},
	{regexp.MustCompile(`(Failing row contains )\(.*\)`), "$1" + Masked},
	{regexp.MustCompile(`(invalid input (?:syntax|value) for [^:]*): "[^"]*"`), `$1: "` + Masked + `"`},
	{regexp.MustCompile(`(value too long for type [^:]*): "[^"]*"`), `$1: "` + Masked + `"`},
}

// RedactString masks the row values an error message or detail quotes.
func RedactString(s string) string {
	for _, q := range rowValueQuotes {
		s = q.re.ReplaceAllString(s, q.with)
	}
	return s
}

// Redact masks quoted row values in every string of v (a pointer to a
// report), in place: reports of a run on real data never show its rows.
func Redact(v any) {
	redactValue(reflect.ValueOf(v))
}

func redactValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			e := v.Elem()
			if v.Kind() == reflect.Interface && e.Kind() == reflect.String {
				return // cannot set through an interface; reports hold none
			}
			redactValue(e)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				redactValue(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			redactValue(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := v.MapIndex(k)
			if e.Kind() == reflect.String {
				v.SetMapIndex(k, reflect.ValueOf(RedactString(e.String())).Convert(e.Type()))
				continue
			}
			// Map values are not addressable: redact a copy and store it.
			c := reflect.New(e.Type()).Elem()
			c.Set(e)
			redactValue(c)
			v.SetMapIndex(k, c)
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(RedactString(v.String()))
		}
	}
}

// RedactingWriter masks quoted row values in what is written to w (the
// live progress lines, which print the same errors as the reports). Each
// Write is redacted on its own: progress writes whole lines.
func RedactingWriter(w io.Writer) io.Writer { return redactingWriter{w} }

type redactingWriter struct{ w io.Writer }

func (r redactingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, RedactString(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
