// Command mochi runs the mochi-mqtt server (github.com/mochi-mqtt/server/v2)
// as an mqtt-check interop target: one plain TCP listener on the address
// given, every client allowed (auth.AllowHook), as in the module's own
// cmd/main.go and README, without its WebSocket and HTTP stats listeners.
//
// It is its own module so that the main go.mod does not need mochi:
// scripts/brokers/mochi.sh builds it with `go build` from the module proxy.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:1883", "address of the plain MQTT listener")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintf(os.Stderr, "mochi: %v\n", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
	server := mqtt.New(&mqtt.Options{Logger: logger})
	if err := server.AddHook(new(auth.AllowHook), nil); err != nil {
		return fmt.Errorf("allow hook: %w", err)
	}
	if err := server.AddListener(listeners.NewTCP(listeners.Config{ID: "t1", Address: addr})); err != nil {
		return fmt.Errorf("listener %s: %w", addr, err)
	}
	errc := make(chan error, 1)
	go func() { errc <- server.Serve() }()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		<-sigs
	case <-sigs:
	}
	logger.Info("mochi: signal, stopping")
	return server.Close()
}
