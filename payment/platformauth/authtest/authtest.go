// Package authtest makes the certificates the tests of platform
// authentication need: a CA, a server certificate for 127.0.0.1 and a
// client certificate, as PEM files and as a PKCS#12 file. It is for tests
// only.
package authtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// PKI is a throw-away certificate authority with one server and one
// client certificate, written to a test's temporary directory.
type PKI struct {
	CAFile                    string // PEM of the CA
	ServerCert                tls.Certificate
	ClientCertFile, ClientKey string // PEM files of the client
	ClientP12, P12Password    string // the client certificate as PKCS#12
	Pool                      *x509.CertPool
}

// New makes a PKI for t.
func New(t testing.TB) *PKI {
	t.Helper()
	dir := t.TempDir()
	caKey := key(t)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "termin test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := &PKI{CAFile: filepath.Join(dir, "ca.pem"), Pool: x509.NewCertPool(), P12Password: "p12-secret"}
	p.Pool.AddCert(ca)
	write(t, p.CAFile, "CERTIFICATE", caDER)

	srvKey := key(t)
	srvDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames: []string{"localhost"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature},
		ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	p.ServerCert = tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}

	cliKey := key(t)
	cliDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "Stadt Beispiel termin"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}, ca, &cliKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	p.ClientCertFile, p.ClientKey = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	write(t, p.ClientCertFile, "CERTIFICATE", cliDER)
	keyDER, err := x509.MarshalPKCS8PrivateKey(cliKey)
	if err != nil {
		t.Fatal(err)
	}
	write(t, p.ClientKey, "PRIVATE KEY", keyDER)
	cli, _ := x509.ParseCertificate(cliDER)
	p12, err := pkcs12.Modern.Encode(cliKey, cli, []*x509.Certificate{ca}, p.P12Password)
	if err != nil {
		t.Fatal(err)
	}
	p.ClientP12 = filepath.Join(dir, "client.p12")
	if err := os.WriteFile(p.ClientP12, p12, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// ServerTLS is a server configuration that demands a client certificate
// of this CA.
func (p *PKI) ServerTLS() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.ServerCert}, ClientCAs: p.Pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
}

func key(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func write(t testing.TB, name, typ string, der []byte) {
	if err := os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
