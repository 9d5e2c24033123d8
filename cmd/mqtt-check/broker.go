package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/mqtt-check/mqtt-check/reference/broker"
)

func brokerCommand() command {
	return command{
		name:    "broker",
		summary: "Run the reference MQTT 3.1.1/3.1 broker",
		usage: `Usage: mqtt-check broker [flags]

Run the reference broker: a complete MQTT 3.1.1 broker (also accepting
MQTT 3.1 clients) written to the letter of the specification. It is the
ground truth of the conformance suite, and a fault switch makes it break
one normative statement on purpose.

Listeners:
  --listen ADDR            plain MQTT over TCP (default 127.0.0.1:1883)
  --tls-listen ADDR        MQTT over TLS (needs --cert and --key)
  --ws-listen ADDR         MQTT over WebSocket (subprotocol "mqtt")
  --cert FILE, --key FILE  server certificate and key (PEM)
  --client-ca FILE         CA bundle for client certificates
  --require-client-cert    refuse TLS clients without a valid certificate

Security:
  --password-file FILE     "user:hash" lines (hash from --hash-password)
  --acl-file FILE          "user NAME" / "topic [read|write|readwrite] FILTER"
  --allow-anonymous        with a password file, still accept clients
                           that send no user name
  --hash-password          read a password on stdin, print its hash, exit

Limits and behaviour:
  --max-inflight N, --max-queued N, --max-packet-size BYTES, --max-qos Q,
  --sys-interval D (negative disables $SYS)

Faults and impairments:
  --fault NAME             switch on a fault (repeatable, or comma-separated)
  --list-faults            print every fault: name, statement IDs, description
  --impair-drop F          drop fraction F of deliveries
  --impair-delay D         delay every outgoing write by D
  --impair-stall-every D --impair-stall-for D
                           stall all writes for a while in every period
  --impair-max-conns N     refuse connections beyond N open ones

Other:
  --config FILE            JSON file with any of these flags as keys
                           (flags on the command line win)
  --log-level LEVEL        debug, info, warn or error (default info)

Examples:
  mqtt-check broker --listen 127.0.0.1:1883
  mqtt-check broker --listen 127.0.0.1:1883 --ws-listen 127.0.0.1:8080
  mqtt-check broker --fault no-will --fault retain-flag-lost
  mqtt-check broker --list-faults
`,
		run: runBroker,
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type brokerFlags struct {
	listen, tlsListen, wsListen    string
	cert, key, clientCA            string
	requireClientCert              bool
	passwordFile, aclFile          string
	allowAnonymous, hashPassword   bool
	maxInflight, maxQueued, maxPkt int
	maxQoS                         int
	sysInterval                    time.Duration
	faults                         stringList
	listFaults                     bool
	impairDrop                     float64
	impairDelay                    time.Duration
	impairStallEvery, impairStall  time.Duration
	impairMaxConns                 int
	config, logLevel               string
}

func (b *brokerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&b.listen, "listen", "127.0.0.1:1883", "TCP listen address")
	fs.StringVar(&b.tlsListen, "tls-listen", "", "TLS listen address")
	fs.StringVar(&b.wsListen, "ws-listen", "", "WebSocket listen address")
	fs.StringVar(&b.cert, "cert", "", "server certificate (PEM)")
	fs.StringVar(&b.key, "key", "", "server key (PEM)")
	fs.StringVar(&b.clientCA, "client-ca", "", "CA bundle for client certificates")
	fs.BoolVar(&b.requireClientCert, "require-client-cert", false, "require client certificates")
	fs.StringVar(&b.passwordFile, "password-file", "", "password file")
	fs.StringVar(&b.aclFile, "acl-file", "", "ACL file")
	fs.BoolVar(&b.allowAnonymous, "allow-anonymous", false, "accept clients without user name")
	fs.BoolVar(&b.hashPassword, "hash-password", false, "hash a password read on stdin")
	fs.IntVar(&b.maxInflight, "max-inflight", 32, "QoS 1/2 messages in flight per client")
	fs.IntVar(&b.maxQueued, "max-queued", 1000, "QoS 1/2 messages queued per session")
	fs.IntVar(&b.maxPkt, "max-packet-size", 16<<20, "largest inbound packet")
	fs.IntVar(&b.maxQoS, "max-qos", 2, "highest QoS granted")
	fs.DurationVar(&b.sysInterval, "sys-interval", 10*time.Second, "$SYS refresh period")
	fs.Var(&b.faults, "fault", "fault switch (repeatable)")
	fs.BoolVar(&b.listFaults, "list-faults", false, "list fault switches")
	fs.Float64Var(&b.impairDrop, "impair-drop", 0, "fraction of deliveries dropped")
	fs.DurationVar(&b.impairDelay, "impair-delay", 0, "delay per write")
	fs.DurationVar(&b.impairStallEvery, "impair-stall-every", 0, "stall period")
	fs.DurationVar(&b.impairStall, "impair-stall-for", 0, "stall length")
	fs.IntVar(&b.impairMaxConns, "impair-max-conns", 0, "refuse connections beyond N")
	fs.StringVar(&b.config, "config", "", "JSON config file")
	fs.StringVar(&b.logLevel, "log-level", "info", "log level")
}

// applyConfigFile sets every flag named in a JSON object that was not
// given on the command line.
func applyConfigFile(fs *flag.FlagSet, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for k, v := range m {
		if fs.Lookup(k) == nil {
			return fmt.Errorf("config %s: unknown key %q", path, k)
		}
		if set[k] {
			continue
		}
		vals := []any{v}
		if list, ok := v.([]any); ok {
			vals = list
		}
		for _, x := range vals {
			if err := fs.Set(k, fmt.Sprint(x)); err != nil {
				return fmt.Errorf("config %s: %s: %w", path, k, err)
			}
		}
	}
	return nil
}

func runBroker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("broker")
	var bf brokerFlags
	bf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("broker takes no arguments, got %q", fs.Args())
	}
	if bf.config != "" {
		if err := applyConfigFile(fs, bf.config); err != nil {
			return usagef("%v", err)
		}
	}
	if bf.listFaults {
		for _, f := range broker.Faults() {
			if _, err := fmt.Fprintf(stdout, "%-36s %-40s %s\n", f.Name, strings.Join(f.Statements, ","), f.Description); err != nil {
				return err
			}
		}
		return nil
	}
	if bf.hashPassword {
		pw, err := io.ReadAll(io.LimitReader(os.Stdin, 4096))
		if err != nil {
			return err
		}
		h, err := broker.HashPassword(strings.TrimRight(string(pw), "\r\n"))
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, h)
		return err
	}
	opts, err := bf.options(stderr)
	if err != nil {
		return err
	}
	srv := broker.New(opts)
	defer srv.Close()
	return serveListeners(ctx, srv, &bf, opts.Logger)
}

// options turns flags into broker options.
func (bf *brokerFlags) options(stderr io.Writer) (broker.Options, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(bf.logLevel)); err != nil {
		return broker.Options{}, usagef("--log-level: %v", err)
	}
	faults, err := broker.ParseFaults(bf.faults)
	if err != nil {
		return broker.Options{}, usagef("%v", err)
	}
	if bf.maxQoS < 0 || bf.maxQoS > 2 {
		return broker.Options{}, usagef("--max-qos must be 0, 1 or 2")
	}
	opts := broker.Options{
		MaxPacketSize: bf.maxPkt, MaxInflight: bf.maxInflight, MaxQueued: bf.maxQueued,
		LimitQoS: true, MaxQoS: byte(bf.maxQoS), SysInterval: bf.sysInterval, Faults: faults,
		Logger:  slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		Version: versionLine(),
		Impair: broker.Impairments{DropRate: bf.impairDrop, Delay: bf.impairDelay,
			StallEvery: bf.impairStallEvery, StallFor: bf.impairStall, MaxConnections: bf.impairMaxConns},
	}
	if bf.passwordFile != "" || bf.aclFile != "" {
		a := broker.NewAuth()
		a.AllowAnonymous = bf.allowAnonymous || bf.passwordFile == ""
		if bf.passwordFile != "" {
			if err := a.LoadPasswordFile(bf.passwordFile); err != nil {
				return opts, err
			}
		}
		if bf.aclFile != "" {
			if err := a.LoadACLFile(bf.aclFile); err != nil {
				return opts, err
			}
		}
		opts.Auth = a
	}
	return opts, nil
}

// serveListeners starts every configured listener and returns when ctx
// ends or one of them fails.
func serveListeners(ctx context.Context, srv *broker.Server, bf *brokerFlags, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 3)
	n := 0
	start := func(kind, addr string, serve func(net.Listener) error) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s listener: %w", kind, err)
		}
		log.Info("listening", "kind", kind, "addr", ln.Addr().String())
		n++
		go func() { errc <- serve(ln) }()
		return nil
	}
	if bf.listen != "" {
		if err := start("mqtt", bf.listen, func(ln net.Listener) error { return srv.Serve(ctx, ln) }); err != nil {
			return err
		}
	}
	if bf.tlsListen != "" {
		tc, err := bf.tlsConfig()
		if err != nil {
			return err
		}
		if err := start("mqtts", bf.tlsListen, func(ln net.Listener) error { return srv.Serve(ctx, tls.NewListener(ln, tc)) }); err != nil {
			return err
		}
	}
	if bf.wsListen != "" {
		if err := start("websocket", bf.wsListen, func(ln net.Listener) error { return srv.ServeWebSocket(ctx, ln) }); err != nil {
			return err
		}
	}
	if n == 0 {
		return usagef("no listener: give --listen, --tls-listen or --ws-listen")
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		return nil
	case err := <-errc:
		if errors.Is(err, broker.ErrServerClosed) {
			return nil
		}
		return err
	}
}

func (bf *brokerFlags) tlsConfig() (*tls.Config, error) {
	if bf.cert == "" || bf.key == "" {
		return nil, usagef("--tls-listen needs --cert and --key")
	}
	cert, err := tls.LoadX509KeyPair(bf.cert, bf.key)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if bf.clientCA != "" {
		pem, err := os.ReadFile(bf.clientCA)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: no certificate in %s", bf.clientCA)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
		if bf.requireClientCert {
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return tc, nil
}
