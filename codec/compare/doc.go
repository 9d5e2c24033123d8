// Package compare holds benchmarks only: the mqtt-check codec against the
// packet codecs of mochi-mqtt and Eclipse Paho on the same bytes. It is a
// module of its own so that the main module does not depend on them. Run
// ./bench.sh for a benchstat table.
package compare
