package energy

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// tableReader reads the CSV tables this package parses: '#' comments, a
// header line, then records checked to have the header's width. Errors
// are ParseErrors with line and column.
type tableReader struct{ *csv.Reader }

func newTableReader(r io.Reader) tableReader {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	return tableReader{cr}
}

// header reads the header line; empty input is an error with the message
// empty (which should say what header is wanted).
func (t tableReader) header(empty string) ([]string, error) {
	h, err := t.Read()
	if err == io.EOF {
		return nil, errors.New(empty)
	}
	if err != nil {
		return nil, csvErr(err)
	}
	return h, nil
}

// next reads the next record and its line; rec is nil at the end. A record
// that is not width fields wide is an error ("N fields, want width",
// followed by " (detail)" if detail is given).
func (t tableReader) next(width int, detail string) (rec []string, line int, err error) {
	rec, err = t.Read()
	if err == io.EOF {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, csvErr(err)
	}
	line, _ = t.FieldPos(0)
	if len(rec) != width {
		msg := fmt.Sprintf("%d fields, want %d", len(rec), width)
		if detail != "" {
			msg += " (" + detail + ")"
		}
		return nil, line, &ParseError{Line: line, Column: 1, Err: errors.New(msg)}
	}
	return rec, line, nil
}
