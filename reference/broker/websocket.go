package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// ServeWebSocket serves MQTT over WebSocket on ln (HTTP upgrade on any
// path): the "mqtt" subprotocol is selected and returned
// (MQTT-6.0.0-4), MQTT data travels in binary frames, a text frame closes
// the connection (MQTT-6.0.0-1), and packets may span or share frames
// (MQTT-6.0.0-2): the connection is a byte stream to the MQTT layer.
func (s *Server) ServeWebSocket(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           http.HandlerFunc(s.handleWebSocket),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if !s.trackListener(ln) {
		return ErrServerClosed
	}
	defer s.untrackListener(ln)
	served := make(chan struct{})
	defer close(served)
	go func() {
		// Server.Close closes ln, which ends Serve; the context too.
		select {
		case <-ctx.Done():
			hs.Close()
		case <-s.stopSys:
			hs.Close()
		case <-served:
		}
	}()
	err := hs.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return ErrServerClosed
	}
	return fmt.Errorf("broker: websocket: %w", err)
}

func (s *Server) handleWebSocket(w http.ResponseWriter, r *http.Request) {
	opts := &websocket.AcceptOptions{Subprotocols: []string{"mqtt"}, InsecureSkipVerify: true}
	if s.faults.on(FaultWebSocketNoSubprotocol) {
		opts.Subprotocols = nil
	}
	wc, err := websocket.Accept(w, r, opts)
	if err != nil {
		s.log.Info("websocket handshake failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	wc.SetReadLimit(int64(s.opts.MaxPacketSize) + 1024)
	// NetConn reads binary messages only; a text message fails the read
	// and closes the connection with status 1003.
	nc := websocket.NetConn(context.Background(), wc, websocket.MessageBinary)
	c := newConn(s, nc)
	if !s.trackConn(c) {
		return
	}
	defer s.untrackConn(c)
	// The HTTP handler must not return before the connection ends.
	c.serve()
}
