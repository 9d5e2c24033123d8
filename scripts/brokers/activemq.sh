#!/usr/bin/env bash
# Apache ActiveMQ Classic with its MQTT transport (Debian package activemq)
# as an interop target.
# Usage: scripts/brokers/activemq.sh install|start|status|stop|log|version
#
# Configured as the ActiveMQ MQTT guide says (activemq.apache.org/mqtt):
# one transportConnector name="mqtt" uri="mqtt://127.0.0.1:PORT" and no
# other connector (no OpenWire port, no web console, no JMX), KahaDB
# persistence (MQTT persistent sessions are durable subscriptions) in the
# state directory. The broker is run with java -jar activemq.jar like
# /usr/bin/activemq does (same JVM flags for Java 9+), but in the
# foreground, as the current user and with our config and log4j2 (console
# only), plus the MQTT codec jars the Debian package lacks (below):
# /usr/bin/activemq would read /usr/share/activemq/activemq-options
# and switch to the activemq user. The JVM takes a while to start: the
# wait is bounded by START_TIMEOUT.
NAME=activemq
START_TIMEOUT=${START_TIMEOUT:-180}

ACTIVEMQ_HOME=/usr/share/activemq

java_bin() {
	if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
		echo "$JAVA_HOME/bin/java"
	else
		command -v java
	fi
}
# Debian's activemq package ships activemq-mqtt.jar but not the MQTT codec
# it is built on (org.fusesource.mqtt.codec, package libmqtt-client-java),
# nor a dependency on it: without it every MQTT connection fails with
# NoClassDefFoundError: org/fusesource/mqtt/codec/PINGRESP. install adds the
# package, and launch puts its jars in $ACTIVEMQ_BASE/lib, which activemq.jar
# adds to the broker's class path.
MQTT_CODEC_JARS="/usr/share/java/mqtt-client.jar /usr/share/java/hawtdispatch.jar /usr/share/java/hawtdispatch-transport.jar"
broker_installed() {
	local j
	[ -f "$ACTIVEMQ_HOME/bin/activemq.jar" ] && [ -f "$ACTIVEMQ_HOME/lib/activemq-mqtt.jar" ] && java_bin >/dev/null || return 1
	for j in $MQTT_CODEC_JARS; do [ -f "$j" ] || return 1; done
}
broker_install() { apt_install activemq libmqtt-client-java; }
broker_version() { echo "ActiveMQ Classic $(dpkg-query -W -f '${Version}' activemq 2>/dev/null || echo unknown) ($("$(java_bin)" -version 2>&1 | head -1))"; }

broker_launch() {
	local port=$1 conf=$STATE/conf data=$STATE/data
	mkdir -p "$conf" "$data" "$STATE/tmp" "$STATE/lib"
	local j
	for j in $MQTT_CODEC_JARS; do ln -sf "$j" "$STATE/lib/"; done
	cat >"$conf/activemq.xml" <<XML
<!-- Written by scripts/brokers/activemq.sh -->
<beans
  xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core"
          brokerName="mqtt-check" useJmx="false" persistent="true"
          dataDirectory="$data">
    <persistenceAdapter>
      <kahaDB directory="$data/kahadb"/>
    </persistenceAdapter>
    <transportConnectors>
      <transportConnector name="mqtt" uri="mqtt://127.0.0.1:$port"/>
    </transportConnectors>
  </broker>
</beans>
XML
	cat >"$conf/log4j2.properties" <<'PROPS'
rootLogger.level=INFO
rootLogger.appenderRef.console.ref=Console
logger.spring.name=org.apache.activemq.spring
logger.spring.level=WARN
logger.springframework.name=org.springframework
logger.springframework.level=WARN
logger.xbean.name=org.apache.xbean
logger.xbean.level=WARN
appender.console.type=Console
appender.console.name=Console
appender.console.layout.type=PatternLayout
appender.console.layout.pattern=%d{HH:mm:ss.SSS} %5p | %m%n
PROPS
	# The Debian build logs through log4j 1.2: the same, in its syntax.
	cat >"$conf/log4j.properties" <<'PROPS'
log4j.rootLogger=INFO, console
log4j.logger.org.apache.activemq.spring=WARN
log4j.logger.org.springframework=WARN
log4j.logger.org.apache.xbean=WARN
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{HH:mm:ss,SSS} %5p | %m%n
PROPS
	exec "$(java_bin)" -Xms128M -Xmx512M -Djava.awt.headless=true \
		-Dorg.apache.activemq.UseDedicatedTaskRunner=true \
		--add-reads=java.xml=java.logging \
		--add-opens java.base/java.security=ALL-UNNAMED \
		--add-opens java.base/java.net=ALL-UNNAMED \
		--add-opens java.base/java.lang=ALL-UNNAMED \
		--add-opens java.base/java.util=ALL-UNNAMED \
		--add-opens java.naming/javax.naming.spi=ALL-UNNAMED \
		--add-opens java.rmi/sun.rmi.transport.tcp=ALL-UNNAMED \
		--add-opens java.base/java.util.concurrent=ALL-UNNAMED \
		--add-opens java.base/java.util.concurrent.atomic=ALL-UNNAMED \
		--add-exports=java.base/sun.net.www.protocol.http=ALL-UNNAMED \
		--add-exports=java.base/sun.net.www.protocol.https=ALL-UNNAMED \
		--add-exports=java.base/sun.net.www.protocol.jar=ALL-UNNAMED \
		--add-exports=jdk.xml.dom/org.w3c.dom.html=ALL-UNNAMED \
		--add-exports=jdk.naming.rmi/com.sun.jndi.url.rmi=ALL-UNNAMED \
		-Dactivemq.classpath="$conf" \
		-Dactivemq.home="$ACTIVEMQ_HOME" \
		-Dactivemq.base="$STATE" \
		-Dactivemq.conf="$conf" \
		-Dactivemq.data="$data" \
		-Djava.io.tmpdir="$STATE/tmp" \
		-jar "$ACTIVEMQ_HOME/bin/activemq.jar" start "xbean:file:$conf/activemq.xml"
}

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
broker_main "$@"
