package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
)

// tlsClientFlags are the client TLS flags that run and load share.
type tlsClientFlags struct {
	useTLS, insecure  bool
	cafile, cert, key string
}

func (f *tlsClientFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.useTLS, "tls", false, "use TLS")
	fs.StringVar(&f.cafile, "cafile", "", "CA bundle")
	fs.StringVar(&f.cert, "cert", "", "client certificate")
	fs.StringVar(&f.key, "key", "", "client key")
	fs.BoolVar(&f.insecure, "insecure", false, "skip certificate verification")
}

// config returns the client TLS configuration, or nil without --tls.
func (f *tlsClientFlags) config() (*tls.Config, error) {
	if !f.useTLS {
		if f.cafile != "" || f.cert != "" || f.insecure {
			return nil, errors.New("--cafile, --cert and --insecure need --tls")
		}
		return nil, nil
	}
	c := &tls.Config{InsecureSkipVerify: f.insecure, MinVersion: tls.VersionTLS12}
	if f.cafile != "" {
		pem, err := os.ReadFile(f.cafile)
		if err != nil {
			return nil, fmt.Errorf("--cafile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cafile: no certificate in %s", f.cafile)
		}
		c.RootCAs = pool
	}
	if f.cert != "" || f.key != "" {
		cert, err := tls.LoadX509KeyPair(f.cert, f.key)
		if err != nil {
			return nil, fmt.Errorf("--cert/--key: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
