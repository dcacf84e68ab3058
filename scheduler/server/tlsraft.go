package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// tlsStream is a raft.StreamLayer over mutual TLS: it accepts only peers
// presenting a certificate the CA signed, and presents the server's own
// certificate when it dials.
type tlsStream struct {
	net.Listener
	dial *tls.Config
}

var _ raft.StreamLayer = (*tlsStream)(nil)

// newTLSStream listens on addr with the server's certificate (serverTLS)
// and verifies peers with the CA pool of peerTLS, both ways.
func newTLSStream(addr string, serverTLS, peerTLS *tls.Config) (*tlsStream, error) {
	if serverTLS == nil || peerTLS == nil || peerTLS.RootCAs == nil {
		return nil, errors.New("mutual TLS needs the server's certificate and the CA")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || a.IP.IsUnspecified() {
		_ = ln.Close()
		return nil, fmt.Errorf("%s is not an address other servers can dial: give a specific IP", ln.Addr())
	}
	srv := serverTLS.Clone()
	srv.ClientAuth = tls.RequireAndVerifyClientCert
	srv.ClientCAs = peerTLS.RootCAs
	dial := peerTLS.Clone()
	dial.Certificates = serverTLS.Certificates
	return &tlsStream{Listener: tls.NewListener(ln, srv), dial: dial}, nil
}

// Dial connects to a peer's Raft port; the timeout covers the TCP connect
// and the TLS handshake.
func (t *tlsStream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: t.dial}
	return d.Dial("tcp", string(address))
}
