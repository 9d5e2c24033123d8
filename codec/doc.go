// Package codec encodes and decodes every MQTT control packet of protocol
// levels 3 (MQTT 3.1, "MQIsdp"), 4 (MQTT 3.1.1) and 5 (MQTT 5.0).
//
// The contract, borrowed from gopacket's DecodingLayer:
//
//   - Decoding never allocates in steady state. Decoded packets are reused
//     values owned by a Decoder; their byte-slice fields (topic, payload,
//     client identifier, properties...) alias the input buffer and are only
//     valid until that buffer is reused. Repeated fields (SUBSCRIBE filters,
//     user properties) are appended to slices the Decoder keeps and reuses.
//   - Encoding appends to a caller's buffer and allocates nothing when the
//     buffer has room.
//   - "Need more bytes" (ErrIncomplete), "malformed" (the bytes cannot be
//     parsed as the packet they claim to be) and "breaks a rule" (parsed,
//     but a normative statement is violated) are three different results.
//     Errors of the last two kinds are *Error values naming the statement
//     IDs they break (MQTT 3.1.1 IDs for levels 3 and 4, MQTT 5.0 IDs for
//     level 5).
//   - In strict mode the first violation is returned as an error. In
//     lenient mode violations are collected in Decoder.Violations and the
//     packet is still decoded, so a harness can show what a broken peer
//     actually sent.
package codec
