package codec_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/mqtt-check/mqtt-check/codec"
)

func ExampleDecoder_Decode() {
	// A QoS 1 PUBLISH to "a/b" with packet identifier 7, as MQTT 3.1.1.
	raw := []byte{0x32, 10, 0, 3, 'a', '/', 'b', 0, 7, 'h', 'e', 'y'}
	d := &codec.Decoder{Version: codec.V311, Strict: true}

	_, _, err := d.Decode(raw[:5])
	fmt.Println(err == codec.ErrIncomplete)

	p, n, err := d.Decode(raw)
	if err != nil {
		panic(err)
	}
	pub := p.(*codec.Publish)
	fmt.Println(n, pub.QoS, pub.PacketID, string(pub.Topic), string(pub.Payload))
	// Output:
	// true
	// 12 1 7 a/b hey
}

func ExampleDecoder_Decode_violation() {
	// A PUBLISH whose topic name holds a wildcard.
	raw := []byte{0x30, 5, 0, 3, 'a', '/', '#'}

	strict := &codec.Decoder{Version: codec.V311, Strict: true}
	_, _, err := strict.Decode(raw)
	var e *codec.Error
	if errors.As(err, &e) {
		fmt.Println(e.Kind, e.Rules)
	}

	// Leniently, the packet is decoded and the broken rule recorded.
	lenient := &codec.Decoder{Version: codec.V311}
	p, _, err := lenient.Decode(raw)
	fmt.Println(err, string(p.(*codec.Publish).Topic), lenient.Violations[0].Rules)
	// Output:
	// violation [MQTT-3.3.2-2 MQTT-4.7.1-1]
	// <nil> a/# [MQTT-3.3.2-2 MQTT-4.7.1-1]
}

func ExampleAppendFormat() {
	var props codec.Properties
	props.SetBytes(codec.PropContentType, []byte("text/plain"))
	props.AddUser([]byte("k"), []byte("v"))
	p := &codec.Publish{QoS: 1, PacketID: 7, Topic: []byte("a/b"), Payload: []byte("hello"), Properties: props}

	fmt.Println(string(codec.AppendFormat(nil, p, codec.V5)))
	// Output:
	// PUBLISH qos=1 dup=0 retain=0 id=7 topic="a/b" payload=5B "hello" props{ContentType="text/plain" User="k":"v"}
}

func ExamplePublish_Append() {
	p := &codec.Publish{QoS: 1, PacketID: 7, Topic: []byte("a/b"), Payload: []byte("hey")}
	buf := make([]byte, 0, 64)
	buf, err := p.Append(buf, codec.V311)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", buf)
	// Output:
	// 32 0a 00 03 61 2f 62 00 07 68 65 79
}

func ExampleReader() {
	// Two packets on a stream: PINGREQ, then DISCONNECT.
	rd := codec.NewReader(bytes.NewReader([]byte{0xc0, 0x00, 0xe0, 0x00}))
	for {
		h, pkt, err := rd.ReadPacket()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		fmt.Println(h.Type, len(pkt))
	}
	// Output:
	// PINGREQ 2
	// DISCONNECT 2
}
