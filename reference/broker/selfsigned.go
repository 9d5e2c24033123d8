package broker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"
)

// SelfSigned makes an ephemeral certificate for 127.0.0.1 and localhost,
// valid for a day, for the embedded broker's TLS listener. It returns the
// server configuration and a pool holding the certificate, for clients.
func SelfSigned() (*tls.Config, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("broker: tls key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, fmt.Errorf("broker: tls serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "mqtt-check reference broker"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("broker: tls certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("broker: tls certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	conf := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}, MinVersion: tls.VersionTLS12}
	return conf, pool, nil
}

// Embedded is a reference broker serving plain MQTT, MQTT over TLS and
// MQTT over WebSocket on 127.0.0.1 ports chosen by the system: what
// `mqtt-check run` and `mqtt-check load` use when no target is given.
type Embedded struct {
	*Server
	Addr, TLSAddr, WebSocketURL string
	// ClientTLS trusts the TLS listener's certificate.
	ClientTLS *tls.Config
	done      chan struct{}
}

// StartEmbedded starts an Embedded broker with opts.
func StartEmbedded(opts Options) (*Embedded, error) {
	srv := New(opts)
	e := &Embedded{Server: srv, done: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("broker: listen: %w", err)
	}
	sconf, pool, err := SelfSigned()
	if err != nil {
		ln.Close()
		srv.Close()
		return nil, err
	}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		srv.Close()
		return nil, fmt.Errorf("broker: listen: %w", err)
	}
	wl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		tl.Close()
		srv.Close()
		return nil, fmt.Errorf("broker: listen: %w", err)
	}
	e.Addr, e.TLSAddr = ln.Addr().String(), tl.Addr().String()
	e.WebSocketURL = "ws://" + wl.Addr().String() + "/mqtt"
	e.ClientTLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	ctx := context.Background()
	go func() {
		defer close(e.done)
		errs := make(chan error, 3)
		go func() { errs <- srv.Serve(ctx, ln) }()
		go func() { errs <- srv.Serve(ctx, tls.NewListener(tl, sconf)) }()
		go func() { errs <- srv.ServeWebSocket(ctx, wl) }()
		for i := 0; i < 3; i++ {
			<-errs
		}
	}()
	return e, nil
}

// Close stops the broker and its listeners.
func (e *Embedded) Close() error {
	err := e.Server.Close()
	<-e.done
	return err
}
