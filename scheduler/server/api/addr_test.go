package api

import (
	"strings"
	"testing"
)

func TestCheckServerAddr(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:7070", "s1.example:7070", "[::1]:7070", "http://s1:7070", "https://s1.example", "https://[::1]:443/", " 10.0.0.1:1 "} {
		if err := CheckServerAddr(ok); err != nil {
			t.Errorf("%q: %v, want ok", ok, err)
		}
	}
	for addr, want := range map[string]string{
		"":                "empty",
		"nohost.invalid":  "no port",
		"10.0.0.1":        "no port",
		"127.0.0.1:99999": `port "99999": want 1-65535`,
		"127.0.0.1:0":     `port "0": want 1-65535`,
		"127.0.0.1:http":  `port "http"`,
		":7070":           "no host",
		"ftp://s1:21":     `scheme "ftp"`,
		"http://:7070":    "no host",
		"http://s1:70000": `port "70000"`,
		"http://s1:":      "empty port",
		"a:b:c":           "want host:port",
	} {
		err := CheckServerAddr(addr)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error containing %q", addr, err, want)
		}
	}
}
