package report

import (
	"encoding/json"
	"io"

	"github.com/rehearse-dev/rehearse/harness/matrix"
)

// WriteJSON writes r as indented JSON, exactly as matrix.Report's tags say.
func WriteJSON(w io.Writer, r *matrix.Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
