package load

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/client"
)

// dialers makes the Dialer hook of each connection: bound to a source
// address (round robin over Config.SourceIPs), and for WebSocket, an
// HTTP upgrade on top.
type dialers struct {
	cfg *Config
	// transports holds one HTTP transport per source address
	// (WebSocket only).
	transports []*http.Transport
}

func newDialers(cfg *Config) *dialers {
	d := &dialers{cfg: cfg}
	if cfg.WebSocket {
		n := max(len(cfg.SourceIPs), 1)
		for i := 0; i < n; i++ {
			nd := d.netDialer(i)
			d.transports = append(d.transports, &http.Transport{
				DialContext: nd.DialContext, TLSClientConfig: cfg.TLS,
				DisableKeepAlives: true, ForceAttemptHTTP2: false,
			})
		}
	}
	return d
}

func (d *dialers) netDialer(i int) *net.Dialer {
	nd := &net.Dialer{}
	if ips := d.cfg.SourceIPs; len(ips) > 0 {
		nd.LocalAddr = &net.TCPAddr{IP: ips[i%len(ips)]}
	}
	return nd
}

// forClient returns the Dialer hook for client number i, or nil for the
// client's default.
func (d *dialers) forClient(i int) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.cfg.WebSocket {
		tr := d.transports[i%len(d.transports)]
		url := d.cfg.Target
		return func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
				Subprotocols: []string{"mqtt"}, HTTPClient: &http.Client{Transport: tr},
			})
			if err != nil {
				return nil, fmt.Errorf("websocket %s: %w", url, err)
			}
			if resp != nil && resp.Body != nil {
				resp.Body.Close()
			}
			c.SetReadLimit(-1)
			return websocket.NetConn(context.Background(), c, websocket.MessageBinary), nil
		}
	}
	if len(d.cfg.SourceIPs) == 0 {
		return nil
	}
	return d.netDialer(i).DialContext
}

// options returns the client options shared by every connection.
func (e *engine) options(i int, id string, clean bool) client.Options {
	cfg := e.cfg
	o := client.Options{
		Addr: cfg.Target, ClientID: id, Username: cfg.Username, Password: cfg.Password,
		Version: cfg.Version, KeepAlive: cfg.KeepAlive, CleanSession: clean,
		Dialer: e.dial.forClient(i), ConnectTimeout: 10 * time.Second,
		MaxInflight: cfg.Inflight,
	}
	if cfg.TLS != nil && !cfg.WebSocket {
		o.TLS = cfg.TLS
	}
	if !clean && cfg.Version == codec.V5 {
		// A 5.0 session ends with the connection unless it has an
		// expiry interval.
		o.Properties = &codec.Properties{}
		o.Properties.SetUint(codec.PropSessionExpiry, 3600)
	}
	return o
}

// connect opens one connection, counting the attempt and recording its
// latency (dial to CONNACK).
func (e *engine) connect(ctx context.Context, i int, opts client.Options) (*client.Client, *codec.Connack, error) {
	m := e.m
	m.attempted.Add(1)
	t0 := time.Now()
	c, ack, err := client.Connect(ctx, opts)
	if err != nil {
		m.failed.Add(1)
		if ctx.Err() == nil {
			m.fail(connectErrorKind(err), err)
		}
		return nil, ack, err
	}
	m.record(i, mConnect, time.Since(t0).Nanoseconds())
	m.succeeded.Add(1)
	m.connUp()
	return c, ack, nil
}
