package scenarios

import (
	"bytes"
	"strings"
)

// locateSyntax refines a yaml.v3 syntax error, which carries a line only
// (and for some problems the line where the parser noticed, not where the
// mistake is), into a line and column for the problems planners make most:
// a tab in the indentation, an unclosed [ or {, a second ':' on a line, a
// key without ':', an unclosed quote. It returns the original line, no
// column and no hint when it cannot tell; it never guesses a column for
// other messages.
func locateSyntax(data []byte, line int, msg string) (outLine, col int, hint string) {
	lines := bytes.Split(data, []byte("\n"))
	get := func(n int) []byte {
		if n < 1 || n > len(lines) {
			return nil
		}
		return bytes.TrimSuffix(lines[n-1], []byte("\r"))
	}
	switch {
	case strings.Contains(msg, "tab character"), strings.HasPrefix(msg, "found character that cannot start any token"):
		// A tab in the indentation (yaml.v3 names the line before it at
		// times: look around), or a value starting with @ or `.
		// Without a line (some scanner errors), look through the file.
		from, to := max(1, line-1), min(len(lines), line+1)
		if line == 0 {
			from, to = 1, len(lines)
		}
		for n := from; n <= to; n++ {
			l := get(n)
			indent := len(l) - len(bytes.TrimLeft(l, " \t"))
			if i := bytes.IndexByte(l[:indent], '\t'); i >= 0 {
				return n, i + 1, "indent with spaces, not tabs"
			}
		}
		if line == 0 {
			from, to = 1, len(lines)
		} else {
			from, to = line, line
		}
		for n := from; n <= to; n++ {
			l := append([]byte(" "), get(n)...) // so a line starting "@" matches too
			for _, sep := range []string{": @", ": `", "- @", "- `", " @", " `"} {
				if i := bytes.Index(l, []byte(sep)); i >= 0 && (sep[0] != ' ' || i == 0) {
					return n, i + len(sep) - 1, "a value cannot start with @ or `; quote it"
				}
			}
		}
	case strings.HasPrefix(msg, "did not find expected ',' or ']'"), strings.HasPrefix(msg, "did not find expected ',' or '}'"):
		open := byte('[')
		if strings.HasSuffix(msg, "'}'") {
			open = '{'
		}
		// The line named is where the flow collection starts: point at
		// its last opening bracket that is not closed on the line.
		if i := unclosed(get(line), open); i >= 0 {
			return line, i + 1, "the " + string(open) + " here is not closed"
		}
	case strings.HasPrefix(msg, "mapping values are not allowed"):
		// The parser stops at a ':' it cannot take as a key's: the second
		// one on a line ("a: b: c"), or the only one on a line indented
		// under a plain value.
		l := get(line)
		colons := colonPositions(l)
		switch {
		case len(colons) >= 2:
			return line, colons[1] + 1, "a second ':' on one line; quote a value that contains ': '"
		case len(colons) == 1:
			return line, colons[0] + 1, "check the indentation of this line against the one above"
		}
	case strings.HasPrefix(msg, "could not find expected ':'"):
		l := get(line)
		if i := len(l) - len(bytes.TrimLeft(l, " ")); i < len(l) {
			return line, i + 1, "a key without ':'; write key: value"
		}
	case strings.HasPrefix(msg, "found unexpected end of stream"):
		// Usually a quoted string that never closes.
		for n := 1; n <= len(lines); n++ {
			if i := unclosedQuote(get(n)); i >= 0 {
				return n, i + 1, "the quoted string opened here is not closed"
			}
		}
	}
	return line, 0, ""
}

// eachPlain calls fn with the index and byte of every character of l that
// is outside quoted text, up to a comment.
func eachPlain(l []byte, fn func(i int, c byte)) {
	var quote byte
	for i, c := range l {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || l[i-1] == ' '):
			return
		default:
			fn(i, c)
		}
	}
}

// unclosed returns the index of the last opening bracket in l that is not
// closed later on the line, ignoring quoted text and comments, or -1.
func unclosed(l []byte, open byte) int {
	closeB := byte(']')
	if open == '{' {
		closeB = '}'
	}
	var stack []int
	eachPlain(l, func(i int, c byte) {
		switch {
		case c == open:
			stack = append(stack, i)
		case c == closeB && len(stack) > 0:
			stack = stack[:len(stack)-1]
		}
	})
	if len(stack) == 0 {
		return -1
	}
	return stack[len(stack)-1]
}

// colonPositions lists the indexes of ':' that end a plain key on l (a ':'
// followed by a space or the end of the line), outside quotes and comments.
func colonPositions(l []byte) []int {
	var out []int
	eachPlain(l, func(i int, c byte) {
		if c == ':' && (i+1 == len(l) || l[i+1] == ' ') {
			out = append(out, i)
		}
	})
	return out
}

// unclosedQuote returns the index of a double or single quote that opens a
// value on l and is not closed on it, or -1. Quotes inside plain words
// (it's) and comments do not count.
func unclosedQuote(l []byte) int {
	open, start := byte(0), -1
	for i, c := range l {
		switch {
		case open != 0:
			if c == open && (open == '\'' || l[i-1] != '\\') {
				open, start = 0, -1
			}
		case c == '#' && (i == 0 || l[i-1] == ' '):
			return -1
		case (c == '"' || c == '\'') && (i == 0 || bytes.IndexByte([]byte(" :[{,-"), l[i-1]) >= 0):
			open, start = c, i
		}
	}
	return start
}
