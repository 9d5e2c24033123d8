// aedes (the successor of mosca) as an mqtt-check interop target.
// scripts/brokers/aedes.sh runs it: node server.js PORT
// It is the plain-TCP server of aedes' own docs/Examples.md ("Simple plain
// MQTT server"), bound to 127.0.0.1 only, with the default in-memory
// persistence and no authenticate hook (every client is accepted).
'use strict'

const { createServer } = require('node:net')
const { Aedes } = require('aedes')
const path = require('node:path')
const fs = require('node:fs')

async function main () {
  const port = Number(process.argv[2] || process.env.PORT)
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    console.error('usage: node server.js PORT')
    process.exit(2)
  }
  const aedes = await Aedes.createBroker()
  const server = createServer(aedes.handle)
  server.on('error', (err) => {
    console.error('aedes: listen 127.0.0.1:' + port + ': ' + err.message)
    process.exit(1)
  })
  server.listen(port, '127.0.0.1', () => {
    const pkg = path.join(__dirname, 'node_modules', 'aedes', 'package.json')
    const version = JSON.parse(fs.readFileSync(pkg, 'utf8')).version
    console.log('aedes ' + version + ' listening on 127.0.0.1:' + port + ' (node ' + process.version + ')')
  })
  const stop = (signal) => {
    console.log('aedes: ' + signal + ', closing')
    server.close()
    aedes.close(() => process.exit(0))
    setTimeout(() => process.exit(0), 2000).unref()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

main().catch((err) => {
  console.error('aedes: ' + (err && err.stack ? err.stack : err))
  process.exit(1)
})
