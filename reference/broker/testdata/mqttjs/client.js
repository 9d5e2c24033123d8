#!/usr/bin/env node
// MQTT.js against the mqtt-check reference broker: run by
// reference/broker/mqttjs_test.go, usable by hand too.
//
//   node client.js ws://127.0.0.1:PORT/mqtt|mqtt://127.0.0.1:PORT [pubsub|retained|will|all]
//
// Every client speaks MQTT 3.1.1 (protocolVersion 4) with a clean session
// and never reconnects. On success it prints one line of JSON (the
// summary: what was published, what was received, how many connections
// were opened) and exits 0; on any mismatch it prints the reason to
// stderr and exits 1; after 10 s it gives up and exits 2.
'use strict'

const fs = require('fs')
const path = require('path')
const mqtt = require('mqtt')

const HARD_TIMEOUT_MS = 10000 // the whole run
const STEP_TIMEOUT_MS = 5000 // one awaited packet

const mqttVersion = JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve('mqtt')), '..', 'package.json'), 'utf8')).version

let stage = 'start'

function fail (msg) {
  process.stderr.write(`mqttjs: ${msg} (stage: ${stage})\n`)
  process.exit(1)
}

setTimeout(() => {
  process.stderr.write(`mqttjs: hard timeout: no result after ${HARD_TIMEOUT_MS} ms (stage: ${stage})\n`)
  process.exit(2)
}, HARD_TIMEOUT_MS)
process.on('unhandledRejection', (err) => fail(`unhandled rejection: ${err && err.stack ? err.stack : err}`))
process.on('uncaughtException', (err) => fail(`uncaught exception: ${err && err.stack ? err.stack : err}`))

const [url, scenario = 'all'] = process.argv.slice(2)
if (!url || !/^(mqtt|ws):\/\//.test(url)) {
  process.stderr.write('usage: node client.js ws://HOST:PORT/mqtt|mqtt://HOST:PORT [pubsub|retained|will|all]\n')
  process.exit(64)
}
const transport = url.startsWith('ws:') ? 'ws' : 'tcp'
const prefix = `mqttjs/${transport}`

const summary = {
  url,
  scenario,
  mqttVersion,
  protocolVersion: 4,
  connections: 0,
  published: [], // {client, topic, qos, retain, payload (base64), will?}
  received: [] // {client, topic, qos, retain, dup, payload (base64)}
}

const b64 = (buf) => Buffer.from(buf).toString('base64')

// connect opens one MQTT.js client and resolves once CONNACK arrived.
// Every message it receives is queued for expectMessage.
function connect (name, extra = {}) {
  stage = `connect ${name}`
  const client = mqtt.connect(url, {
    protocolVersion: 4,
    clientId: `mqttjs-${name}-${process.pid}`,
    clean: true,
    keepalive: 30,
    reconnectPeriod: 0, // a reconnect would hide a dropped connection
    connectTimeout: STEP_TIMEOUT_MS,
    ...extra
  })
  client.name = name
  client.inbox = []
  client.waiters = []
  client.on('message', (topic, payload, packet) => {
    const m = { client: name, topic, qos: packet.qos, retain: packet.retain, dup: packet.dup, payload: Buffer.from(payload) }
    summary.received.push({ ...m, payload: b64(payload) })
    const i = client.waiters.findIndex((w) => w.topic === topic)
    if (i >= 0) client.waiters.splice(i, 1)[0].resolve(m)
    else client.inbox.push(m)
  })
  return new Promise((resolve, reject) => {
    client.once('connect', (connack) => {
      if (connack.returnCode !== 0) return reject(new Error(`${name}: CONNACK return code ${connack.returnCode}`))
      if (connack.sessionPresent) return reject(new Error(`${name}: CONNACK session present after a clean-session CONNECT`))
      summary.connections++
      client.sawConnack = true
      resolve(client)
    })
    client.on('close', () => {
      if (!client.sawConnack) reject(new Error(`${name}: connection closed before CONNACK`))
      else if (!client.ending && !client.expectClose) fail(`${name}: connection closed unexpectedly`)
    })
    client.on('error', (err) => {
      if (client.sawConnack) fail(`${name}: ${err.message}`)
      reject(new Error(`${name}: ${err.message}`))
    })
  })
}

// expectMessage resolves with the next message on topic (exact name).
function expectMessage (client, topic) {
  stage = `${client.name} waits for ${topic}`
  const i = client.inbox.findIndex((m) => m.topic === topic)
  if (i >= 0) return Promise.resolve(client.inbox.splice(i, 1)[0])
  return new Promise((resolve, reject) => {
    const w = { topic, resolve }
    client.waiters.push(w)
    setTimeout(() => {
      const j = client.waiters.indexOf(w)
      if (j >= 0) {
        client.waiters.splice(j, 1)
        reject(new Error(`${client.name}: no message on ${topic} within ${STEP_TIMEOUT_MS} ms`))
      }
    }, STEP_TIMEOUT_MS)
  })
}

// expectNothing requires that no further message reached client.
async function expectNothing (client, ms) {
  stage = `${client.name} expects nothing`
  await new Promise((resolve) => setTimeout(resolve, ms))
  if (client.inbox.length > 0) {
    const m = client.inbox[0]
    throw new Error(`${client.name}: unexpected message on ${m.topic} (qos ${m.qos}, retain ${m.retain})`)
  }
}

async function subscribe (client, filter, qos) {
  stage = `${client.name} subscribes to ${filter}`
  const granted = await client.subscribeAsync(filter, { qos })
  if (granted.length !== 1 || granted[0].topic !== filter || granted[0].qos !== qos) {
    throw new Error(`${client.name}: SUBACK for ${filter} at QoS ${qos}: got ${JSON.stringify(granted)}`)
  }
}

// publish resolves once the QoS flow completed (PUBACK, PUBCOMP), or at
// once for QoS 0.
async function publish (client, topic, payload, qos, retain = false) {
  stage = `${client.name} publishes ${topic}`
  await client.publishAsync(topic, payload, { qos, retain })
  summary.published.push({ client: client.name, topic, qos, retain, payload: b64(payload) })
}

function check (m, want) {
  const where = `${m.client}: ${m.topic}`
  if (m.qos !== want.qos) throw new Error(`${where}: QoS ${m.qos}, want ${want.qos}`)
  if (m.retain !== want.retain) throw new Error(`${where}: retain ${m.retain}, want ${want.retain}`)
  if (m.dup) throw new Error(`${where}: DUP set on a first delivery`)
  if (!m.payload.equals(Buffer.from(want.payload))) {
    throw new Error(`${where}: payload ${JSON.stringify(m.payload.toString('hex'))}, want ${JSON.stringify(Buffer.from(want.payload).toString('hex'))}`)
  }
}

async function end (...clients) {
  for (const c of clients) {
    stage = `${c.name} disconnects`
    c.ending = true
    await c.endAsync() // DISCONNECT: no Will
  }
}

// pubsub: QoS 0, 1 and 2 messages (text and every byte value) from one
// client to another subscribed at QoS 2 arrive once, at the QoS they were
// sent with, RETAIN clear, payload intact.
async function pubsub () {
  const sub = await connect('pubsub-sub')
  const pub = await connect('pubsub-pub')
  await subscribe(sub, `${prefix}/pubsub/+`, 2)
  const binary = Buffer.alloc(256)
  for (let i = 0; i < 256; i++) binary[i] = i
  const msgs = [
    { topic: `${prefix}/pubsub/q0`, payload: 'zero', qos: 0 },
    { topic: `${prefix}/pubsub/q1`, payload: 'one', qos: 1 },
    { topic: `${prefix}/pubsub/q2`, payload: 'two', qos: 2 },
    { topic: `${prefix}/pubsub/bin`, payload: binary, qos: 2 }
  ]
  for (const m of msgs) {
    await publish(pub, m.topic, m.payload, m.qos)
    check(await expectMessage(sub, m.topic), { ...m, retain: false })
  }
  await expectNothing(sub, 100)
  await end(pub, sub)
}

// retained: a retained message reaches an existing subscription with
// RETAIN clear (MQTT-3.3.1-9) and a later subscription with RETAIN set
// (MQTT-3.3.1-8), at QoS 1 both times.
async function retained () {
  const sub = await connect('retained-sub')
  const pub = await connect('retained-pub')
  await subscribe(sub, `${prefix}/retained/#`, 2)
  const m = { topic: `${prefix}/retained/r`, payload: 'kept', qos: 1 }
  await publish(pub, m.topic, m.payload, m.qos, true)
  check(await expectMessage(sub, m.topic), { ...m, retain: false })
  const late = await connect('retained-late')
  await subscribe(late, m.topic, 2)
  check(await expectMessage(late, m.topic), { ...m, retain: true })
  await expectNothing(sub, 100)
  await expectNothing(late, 0)
  await end(pub, late, sub)
}

// will: a client whose socket is destroyed without DISCONNECT has its
// Will published (MQTT-3.1.2-8) at the Will QoS, RETAIN clear; a client
// that DISCONNECTs (the watcher, which has a Will too) does not.
async function will () {
  const willTopic = `${prefix}/will/gone`
  const sub = await connect('will-sub', { will: { topic: `${prefix}/will/clean`, payload: 'clean disconnect', qos: 1, retain: false } })
  await subscribe(sub, `${prefix}/will/#`, 2)
  const w = { topic: willTopic, payload: 'gone', qos: 1 }
  const dying = await connect('will-dying', { will: { ...w, retain: false } })
  stage = 'destroy will-dying'
  dying.expectClose = true
  summary.published.push({ client: dying.name, topic: w.topic, qos: w.qos, retain: false, payload: b64(w.payload), will: true })
  dying.stream.destroy() // no DISCONNECT: the broker sees the socket close
  check(await expectMessage(sub, willTopic), { ...w, retain: false })
  await expectNothing(sub, 100)
  dying.end(true) // forget the dead client; it never reconnects
  await end(sub)
}

const scenarios = { pubsub, retained, will }

async function main () {
  const run = scenario === 'all' ? Object.keys(scenarios) : [scenario]
  for (const name of run) {
    if (!scenarios[name]) fail(`unknown scenario ${JSON.stringify(name)}: want ${Object.keys(scenarios).join(', ')} or all`)
    await scenarios[name]()
  }
  stage = 'done'
  process.stdout.write(JSON.stringify(summary) + '\n', () => process.exit(0))
}

main().catch((err) => fail(err && err.message ? err.message : String(err)))
