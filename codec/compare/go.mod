module github.com/mqtt-check/mqtt-check/codec/compare

go 1.26

replace github.com/mqtt-check/mqtt-check => ../..

require (
	github.com/eclipse/paho.golang v0.23.0
	github.com/eclipse/paho.mqtt.golang v1.5.1
	github.com/mochi-mqtt/server/v2 v2.7.9
	github.com/mqtt-check/mqtt-check v0.0.0-00010101000000-000000000000
)
