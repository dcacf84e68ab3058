package api

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// CheckServerAddr checks the syntax of a server's HTTP address as clients,
// agents (--servers) and servers (--join) take it: host:port with a port
// in 1-65535, or an http:// or https:// URL naming a host (a port, if
// given, in range). It does not resolve the host.
func CheckServerAddr(addr string) error {
	a := strings.TrimSpace(addr)
	if a == "" {
		return errors.New("empty address")
	}
	if strings.Contains(a, "://") {
		u, err := url.Parse(a)
		if err != nil {
			return fmt.Errorf("not a URL: %v", err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return fmt.Errorf("scheme %q: want http or https", u.Scheme)
		}
		if u.Hostname() == "" {
			return errors.New("the URL names no host")
		}
		if p := u.Port(); p != "" {
			return checkPort(p)
		}
		if strings.HasSuffix(u.Host, ":") {
			return errors.New("empty port")
		}
		return nil
	}
	return CheckHostPort(a)
}

// CheckHostPort checks host:port with a non-empty host and a port in
// 1-65535 (an address to dial, not to listen on).
func CheckHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) && ae.Err == "missing port in address" {
			return errors.New("no port: want host:port, e.g. 10.0.0.1:7070")
		}
		return fmt.Errorf("want host:port: %v", err)
	}
	if host == "" {
		return errors.New("no host: want host:port")
	}
	return checkPort(port)
}

func checkPort(p string) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q: want 1-65535", p)
	}
	return nil
}
