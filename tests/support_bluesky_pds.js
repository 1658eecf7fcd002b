// A local PDS for tests, with a minimal in-memory PLC directory (no network).
const http = require('node:http')
const crypto = require('node:crypto')
const fs = require('node:fs')
const { PDS, envToCfg, envToSecrets, readEnv } = require('@atproto/pds')

const ops = new Map()
function doc(did, op) {
  return {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
    id: did,
    alsoKnownAs: op.alsoKnownAs || [],
    verificationMethod: Object.entries(op.verificationMethods || {}).map(([k, v]) => ({
      id: `${did}#${k}`, type: 'Multikey', controller: did, publicKeyMultibase: v.replace('did:key:', ''),
    })),
    service: Object.entries(op.services || {}).map(([k, v]) => ({
      id: `#${k}`, type: v.type, serviceEndpoint: v.endpoint,
    })),
  }
}
const plc = http.createServer((req, res) => {
  let body = ''
  req.on('data', (c) => (body += c))
  req.on('end', () => {
    const parts = req.url.split('/').filter(Boolean)
    const did = decodeURIComponent(parts[0] || '')
    const send = (code, obj) => { res.writeHead(code, { 'content-type': 'application/json' }); res.end(JSON.stringify(obj)) }
    if (req.method === 'POST') { ops.set(did, JSON.parse(body)); return send(200, {}) }
    const op = ops.get(did)
    if (!op) return send(404, { message: 'DID not registered: ' + did })
    if (parts[1] === 'data') return send(200, { did, ...op })
    if (parts[1] === 'log') return send(200, op)
    return send(200, doc(did, op))
  })
})

async function main() {
  await new Promise((r) => plc.listen(0, '127.0.0.1', r))
  const port = Number(process.argv[2])
  const dir = process.argv[3]
  fs.mkdirSync(dir + '/blobs', { recursive: true })
  Object.assign(process.env, {
    PDS_HOSTNAME: 'localhost',
    PDS_PORT: String(port),
    PDS_DATA_DIRECTORY: dir,
    PDS_BLOBSTORE_DISK_LOCATION: dir + '/blobs',
    PDS_JWT_SECRET: crypto.randomBytes(16).toString('hex'),
    PDS_ADMIN_PASSWORD: 'admin-pass',
    PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: crypto.randomBytes(32).toString('hex'),
    PDS_DID_PLC_URL: `http://127.0.0.1:${plc.address().port}`,
    PDS_SERVICE_HANDLE_DOMAINS: '.test',
    PDS_INVITE_REQUIRED: 'false',
    PDS_DEV_MODE: 'true',
    PDS_CRAWLERS: '',
    LOG_ENABLED: 'false',
  })
  const env = readEnv()
  const pds = await PDS.create(envToCfg(env), envToSecrets(env))
  await pds.start()
  console.log('READY ' + port)
}
main().catch((err) => { console.error(err); process.exit(1) })
