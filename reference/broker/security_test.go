package broker_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/broker"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

func authBroker(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	hash, err := broker.HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(dir, "passwd")
	acl := filepath.Join(dir, "acl")
	os.WriteFile(pw, []byte("# users\nalice:"+hash+"\n"), 0o600)
	os.WriteFile(acl, []byte("topic read public/#\nuser alice\ntopic readwrite alice/#\ntopic write public/in\n"), 0o600)
	a := broker.NewAuth()
	if err := a.LoadPasswordFile(pw); err != nil {
		t.Fatal(err)
	}
	if err := a.LoadACLFile(acl); err != nil {
		t.Fatal(err)
	}
	_, addr := start(t, broker.Options{Auth: a})
	return addr
}

func TestAuthentication(t *testing.T) {
	addr := authBroker(t)
	cases := []struct {
		name       string
		user, pass string
		hasUser    bool
		want       byte
	}{
		{"right password", "alice", "s3cret", true, codec.ConnAccepted},
		{"wrong password", "alice", "nope", true, codec.ConnRefusedBadCredentials},
		{"unknown user", "bob", "s3cret", true, codec.ConnRefusedBadCredentials},
		{"anonymous", "", "", false, codec.ConnRefusedNotAuthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := dial(t, addr, nil)
			ack, _ := s.c.Connect(t.Context(), &codec.Connect{ClientID: []byte("a"), CleanSession: true,
				UsernameFlag: tc.hasUser, Username: []byte(tc.user), PasswordFlag: tc.hasUser, Password: []byte(tc.pass)}, wait)
			if ack == nil || ack.ReturnCode != tc.want {
				t.Fatalf("got %+v, want return code %d", ack, tc.want)
			}
			if tc.want != 0 {
				s.expectClosed(wait)
			}
		})
	}
}

func TestACL(t *testing.T) {
	addr := authBroker(t)
	s := dial(t, addr, nil)
	if _, err := s.c.Connect(t.Context(), &codec.Connect{ClientID: []byte("alice"), CleanSession: true,
		UsernameFlag: true, Username: []byte("alice"), PasswordFlag: true, Password: []byte("s3cret")}, wait); err != nil {
		t.Fatal(err)
	}
	ack, err := s.c.Subscribe(t.Context(), wait,
		codec.Subscription{Filter: []byte("alice/#"), Options: 1},
		codec.Subscription{Filter: []byte("secret/#"), Options: 1},
		codec.Subscription{Filter: []byte("public/+"), Options: 0},
		codec.Subscription{Filter: []byte("#"), Options: 0})
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{1, 0x80, 0, 0x80}; string(ack.ReturnCodes) != string(want) {
		t.Fatalf("SUBACK codes %x, want %x", ack.ReturnCodes, want)
	}
	// A denied publish is acknowledged and dropped (MQTT-3.3.5-2).
	s.publish("secret/x", "no", 1, false)
	s.publish("alice/x", "yes", 1, false)
	s.expectPublish("alice/x")
}

// selfSigned writes a certificate and key for 127.0.0.1 into dir.
func selfSigned(t *testing.T, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (tls.Certificate, *x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:        ca == nil, BasicConstraintsValid: true,
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca, caKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, cert, key
}

func TestTLSWithClientCertificates(t *testing.T) {
	caTLS, ca, caKey := selfSigned(t, "test CA", nil, nil)
	_ = caTLS
	serverCert, _, _ := selfSigned(t, "broker", ca, caKey)
	clientCert, _, _ := selfSigned(t, "client", ca, caKey)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv := broker.New(broker.Options{SysInterval: -1})
	t.Cleanup(func() { srv.Close() })
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{serverCert},
		ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(context.Background(), ln)
	addr := ln.Addr().String()

	good, err := probe.Dial(t.Context(), addr, probe.Options{TLS: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{clientCert}}})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if _, err := good.Connect(t.Context(), &codec.Connect{ClientID: []byte("tls"), CleanSession: true}, wait); err != nil {
		t.Fatalf("TLS client with a certificate: %v", err)
	}
	// Without a client certificate the handshake fails.
	bad, err := probe.Dial(t.Context(), addr, probe.Options{TLS: &tls.Config{RootCAs: pool}})
	if err == nil {
		defer bad.Close()
		bad.Send(&codec.Connect{ClientID: []byte("nocert"), CleanSession: true})
		if err := bad.ExpectClosed(t.Context(), wait); err != nil {
			t.Fatalf("client without certificate was served: %v", err)
		}
	}
}

func wsBroker(t *testing.T, faults ...broker.Fault) string {
	t.Helper()
	fs := broker.FaultSet{}
	for _, f := range faults {
		fs[f] = true
	}
	srv := broker.New(broker.Options{SysInterval: -1, Faults: fs})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.ServeWebSocket(context.Background(), ln); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return "ws://" + ln.Addr().String() + "/mqtt"
}

func wsDial(url string, subprotocol *string) func(ctx context.Context, _, _ string) (net.Conn, error) {
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"mqtt"}})
		if err != nil {
			return nil, err
		}
		if subprotocol != nil {
			*subprotocol = resp.Header.Get("Sec-WebSocket-Protocol")
		}
		return websocket.NetConn(context.Background(), c, websocket.MessageBinary), nil
	}
}

func TestWebSocket(t *testing.T) {
	url := wsBroker(t)
	var proto string
	c, err := probe.Dial(t.Context(), url, probe.Options{Dialer: wsDial(url, &proto)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if proto != "mqtt" { // MQTT-6.0.0-4
		t.Fatalf("subprotocol %q, want mqtt", proto)
	}
	if _, err := c.Connect(t.Context(), &codec.Connect{ClientID: []byte("ws"), CleanSession: true}, wait); err != nil {
		t.Fatal(err)
	}
	c.Subscribe(t.Context(), wait, codec.Subscription{Filter: []byte("ws/t"), Options: 1})
	// A packet split over two frames, and two packets in one frame
	// (MQTT-6.0.0-2).
	var pub []byte
	pub, _ = (&codec.Publish{Topic: []byte("ws/t"), Payload: []byte("split"), QoS: 1, PacketID: 9}).Append(pub, codec.V311)
	c.SendRaw(pub[:3])
	c.SendRaw(pub[3:])
	if _, err := c.Expect(t.Context(), wait, "PUBLISH ws/t", probe.IsPublish("ws/t")); err != nil {
		t.Fatal(err)
	}
}

func TestWebSocketTextFrameCloses(t *testing.T) {
	url := wsBroker(t)
	ctx := t.Context()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"mqtt"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	connect, _ := (&codec.Connect{ClientID: []byte("text"), CleanSession: true}).Append(nil, codec.V311)
	c.Write(ctx, websocket.MessageText, connect) // MQTT-6.0.0-1
	rctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if _, _, err := c.Read(rctx); err == nil || rctx.Err() != nil {
		t.Fatalf("connection not closed after a text frame: %v", err)
	}
}

func TestWebSocketNoSubprotocolFault(t *testing.T) {
	url := wsBroker(t, broker.FaultWebSocketNoSubprotocol)
	_, resp, err := websocket.Dial(t.Context(), url, &websocket.DialOptions{Subprotocols: []string{"mqtt"}})
	if err == nil && resp.Header.Get("Sec-WebSocket-Protocol") == "mqtt" {
		t.Fatal("fault on, but the mqtt subprotocol was returned")
	}
	_ = http.StatusOK
}
