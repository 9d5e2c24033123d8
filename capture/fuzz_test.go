package capture

import (
	"bytes"
	"testing"
)

// FuzzDecodePcap: Decode never panics and never fails on bytes that start
// like a capture, whatever follows. The seed corpus in
// testdata/fuzz/FuzzDecodePcap holds real captures: WriteTranscript
// output, the messy hand-made ones, pcapng, WebSocket.
func FuzzDecodePcap(f *testing.F) {
	f.Add(writePcap(f, entries(f, session()), PcapOptions{}))
	f.Add(writePcap(f, entries(f, session()), PcapOptions{MSS: 7}))
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1})
	f.Add([]byte{0x0a, 0x0d, 0x0d, 0x0a})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []DecodeOptions{{}, {WebSocketPorts: []uint16{1883}}} {
			res, err := Decode(bytes.NewReader(data), opts)
			if err != nil {
				continue
			}
			var b bytes.Buffer
			if err := res.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if err := res.WriteJSON(&b); err != nil {
				t.Fatal(err)
			}
		}
	})
}
