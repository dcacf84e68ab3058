package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

// testPKI writes a CA and a server certificate for 127.0.0.1 signed by it
// into dir, and returns the file names.
func testPKI(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "suanli test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "suanli server"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", der), write("server-key.pem", "EC PRIVATE KEY", keyDER)
}

// TestTLS: servers with --tls-cert serve HTTPS, join each other and
// forward writes over it; a client trusting the CA works, plain HTTP and
// clients that do not trust the CA are refused. With --tls-raft the Raft
// port takes only peers with a certificate the CA signed.
func TestTLS(t *testing.T) {
	for _, raftTLS := range []bool{false, true} {
		t.Run(map[bool]string{false: "api", true: "api+raft"}[raftTLS], func(t *testing.T) { testTLS(t, raftTLS) })
	}
}

func testTLS(t *testing.T, raftTLS bool) {
	caFile, certFile, keyFile := testPKI(t, t.TempDir())
	ss := startCluster(t, 2, func(c *Config) {
		c.TLS = TLSConfig{CertFile: certFile, KeyFile: keyFile, CAFile: caFile, Raft: raftTLS}
		for i, j := range c.Join {
			c.Join[i] = "https://" + j
		}
	})
	leader := leaderOf(t, ss)
	follower := ss[0]
	if follower == leader {
		follower = ss[1]
	}
	tlsCfg, err := api.ClientTLS(caFile)
	if err != nil {
		t.Fatal(err)
	}
	c := api.NewClientTLS(follower.Addrs().HTTPAddr, testToken, tlsCfg)
	if !strings.HasPrefix(c.Base, "https://") {
		t.Fatalf("client base %s, want https", c.Base)
	}
	// the follower learns the leader's HTTP address through the log
	waitFor(t, "the follower knows the leader", 10*time.Second, func() bool {
		st, err := c.Cluster(ctx(t))
		return err == nil && st.LeaderHTTP != ""
	})
	registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 1)
	// a write to the follower is forwarded to the leader over HTTPS
	if res := submitOK(t, c, wspec("w1", 1000)); res.Result != "created" {
		t.Fatalf("submit through the follower: %+v", res)
	}
	waitStatus(t, c, "w1", api.StatusPlaced)

	// plain HTTP to a TLS port fails
	if _, err := api.NewClient(follower.Addrs().HTTPAddr, testToken).Get(ctx(t), "w1"); err == nil {
		t.Error("plain HTTP to a TLS server succeeded")
	}
	// HTTPS without trusting the CA fails certificate verification
	_, err = api.NewClient("https://"+follower.Addrs().HTTPAddr, testToken).Get(ctx(t), "w1")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("HTTPS without the CA: got %v, want an unknown-authority error", err)
	}
	if !raftTLS {
		return
	}
	// The Raft port: a TLS client without a certificate is refused (the
	// handshake, or with TLS 1.3 the first read, fails).
	conn, err := tls.Dial("tcp", leader.Addrs().RaftAddr, tlsCfg)
	if err == nil {
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("raft port without a client certificate: got %v, want a certificate error", err)
	}
	// and a write still replicates to both servers over mutual TLS
	submitOK(t, c, wspec("w2", 1000))
	waitFor(t, "w2 on both servers", 5*time.Second, func() bool {
		for _, s := range ss {
			if _, ok := s.FSM().Get("w2"); !ok {
				return false
			}
		}
		return true
	})
}

func TestTLSConfigValidation(t *testing.T) {
	for _, c := range []TLSConfig{{CertFile: "a.pem"}, {KeyFile: "k.pem"}, {CAFile: "ca.pem"}} {
		cfg := testConfig(t, "s1")
		cfg.TLS = c
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "--tls-cert and --tls-key go together") {
			t.Errorf("%+v: got %v, want the pairing error", c, err)
		}
	}
	cfg0 := testConfig(t, "s1")
	cfg0.TLS = TLSConfig{CertFile: "a.pem", KeyFile: "k.pem", Raft: true}
	if _, err := New(cfg0); err == nil || !strings.Contains(err.Error(), "--tls-raft needs") {
		t.Errorf("raft TLS without a CA: got %v, want the --tls-raft error", err)
	}
	cfg := testConfig(t, "s1")
	cfg.TLS = TLSConfig{CertFile: "/nonexistent/cert.pem", KeyFile: "/nonexistent/key.pem"}
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "--tls-cert/--tls-key") {
		t.Errorf("missing files: got %v, want a --tls-cert/--tls-key error", err)
	}
}
