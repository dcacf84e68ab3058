package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseDeadline(t *testing.T) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 123456789, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
		err  string
	}{
		{in: "2026-03-01T18:00:00+08:00", want: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)},
		{in: "90m", want: time.Date(2026, 3, 1, 9, 30, 0, 123000000, time.UTC)},
		{in: "1d", want: time.Date(2026, 3, 2, 8, 0, 0, 123000000, time.UTC)},
		{in: "0s", err: "positive duration"},
		{in: "-2h", err: "positive duration"},
		{in: "tomorrow", err: `--deadline "tomorrow": want an RFC 3339 time`},
		{in: "2026-03-01 18:00", err: "RFC 3339"},
	} {
		got, err := parseDeadline(c.in, now)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: got %v, %v; want an error containing %q", c.in, got, err, c.err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.in, err)
		case !got.Equal(c.want):
			t.Errorf("%q: got %v, want %v", c.in, got, c.want)
		}
	}
}

// TestSubmitFlagErrorsBeforeAnyRequest: a bad --deadline is refused with
// exit code 2 before the CLI contacts a server (none is running here).
func TestSubmitFlagErrorsBeforeAnyRequest(t *testing.T) {
	_, err := runCLI(t, "workload", "submit", "--addr", "127.0.0.1:1", "--origin", "JN", "--cpu-milli", "100",
		"--memory-mib", "64", "--duration-ms", "1000", "--deadline", "soon")
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), `--deadline "soon"`) {
		t.Fatalf("got %v (exit %d), want the --deadline error with exit code 2", err, exitCode(err))
	}
}
