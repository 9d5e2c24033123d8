package probe

import (
	"errors"
	"io"
	"syscall"
	"time"
)

// ErrTimeout is wrapped by the errors of Expect and ExpectClosed when the
// wait ran out without the awaited outcome. It says only that time passed;
// the error text says what was seen meanwhile.
var ErrTimeout = errors.New("probe: deadline passed")

// ErrUnexpected is wrapped by ExpectNothing's error when a packet it
// forbids arrived.
var ErrUnexpected = errors.New("probe: unexpected packet")

// ErrRefused is wrapped by Conn.Connect when the CONNACK refuses the
// connection (non-zero return or reason code).
var ErrRefused = errors.New("probe: connection refused by CONNACK")

// How a connection ended.
const (
	// ByPeer: the peer closed cleanly (EOF).
	ByPeer = "peer"
	// ByReset: the peer reset the connection (RST).
	ByReset = "reset"
	// ByLocal: the probe itself closed it (Conn.Close).
	ByLocal = "local"
	// ByError: reading failed for another reason (TLS alert, network
	// error...).
	ByError = "error"
)

// ClosedError says that and how a connection ended. Specs use errors.As to
// tell "the broker closed the connection" from "the broker said nothing".
type ClosedError struct {
	// By is ByPeer, ByReset, ByLocal or ByError.
	By string
	// At is when the reader saw the end.
	At time.Time
	// Err is the underlying read error (io.EOF, ECONNRESET...).
	Err error
}

// Error says how the connection ended, in the words a transcript uses.
func (e *ClosedError) Error() string {
	switch e.By {
	case ByPeer:
		return "connection closed by peer (EOF)"
	case ByReset:
		return "connection reset by peer"
	case ByLocal:
		return "connection closed locally"
	}
	return "connection failed: " + e.Err.Error()
}

// Unwrap returns the underlying read error.
func (e *ClosedError) Unwrap() error { return e.Err }

// PeerClosed reports whether the peer ended the connection (clean close
// or reset), as opposed to the probe closing it or a local failure.
func (e *ClosedError) PeerClosed() bool { return e.By == ByPeer || e.By == ByReset }

// classify names the end of a read loop from its error.
func classify(err error, local bool) string {
	switch {
	case local:
		return ByLocal
	case isEOF(err):
		return ByPeer
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED):
		return ByReset
	}
	return ByError
}

// isEOF: a close inside a packet (io.ErrUnexpectedEOF) is still a clean
// close by the peer, just at an odd moment; the transcript shows the bytes.
func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// ExpectError is returned by the Expect family. Its message names what
// was awaited and what happened instead, in the words a report needs:
// "sent nothing within 2s", "closed the connection (EOF) after sending
// PUBLISH ...", "received PUBLISH ... instead".
type ExpectError struct {
	// What is the caller's description of the awaited outcome.
	What string
	// Waited is how long the call waited.
	Waited time.Duration
	// Seen are the queued packets that did not match (they stay queued),
	// or for ExpectNothing the one that matched.
	Seen []*Received
	// Closed is set when the connection ended before the outcome.
	Closed *ClosedError
	// Err is ErrTimeout, ErrUnexpected, a *ClosedError or the context's
	// error.
	Err error
	msg string
}

// Error names what was awaited and what happened instead.
func (e *ExpectError) Error() string { return e.msg }

// Unwrap returns ErrTimeout, ErrUnexpected, the *ClosedError or the
// context error.
func (e *ExpectError) Unwrap() error { return e.Err }
