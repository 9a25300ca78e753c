//! The node's OpenAPI 3.1 description, served at `GET /v1/openapi.json`.

/// The OpenAPI document (hand-written; a test checks it names every route).
pub const OPENAPI_JSON: &str = r##"{
  "openapi": "3.1.0",
  "info": {
    "title": "Carekey ledger node",
    "version": "1",
    "description": "A transparency log (C2SP tlog-tiles reads, tlog-checkpoint, tlog-cosignature witnesses, tlog-proof receipts) with a small write API, a policy check and an off-log, deletable grant-bundle store. See docs/protocol.md. Binary JSON fields are base64url without padding. Errors are {code, message}."
  },
  "paths": {
    "/checkpoint": {
      "get": {
        "summary": "The latest signed checkpoint note (log signature first, then witness cosignatures).",
        "responses": {
          "200": { "description": "Signed note; Cache-Control: no-store.", "content": { "text/plain": { "schema": { "type": "string" } } } }
        }
      }
    },
    "/tile/{path}": {
      "get": {
        "summary": "A hash tile tile/<L>/<N>[.p/<W>] or entry bundle tile/entries/<N>[.p/<W>] (C2SP tlog-tiles, height 8).",
        "parameters": [ { "name": "path", "in": "path", "required": true, "schema": { "type": "string" } } ],
        "responses": {
          "200": { "description": "Tile bytes. Full tiles: Cache-Control public, max-age=31536000, immutable; partial: no-store.", "content": { "application/octet-stream": {} } },
          "404": { "$ref": "#/components/responses/Error" }
        }
      }
    },
    "/v1/entries": {
      "post": {
        "summary": "Append a GrantCommitment, RevocationEntry or ErasureEntry (idempotent by leaf hash).",
        "requestBody": {
          "required": true,
          "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EntrySubmission" } } }
        },
        "responses": {
          "200": { "description": "Appended and covered by a signed, durable checkpoint.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Appended" } } } },
          "400": { "$ref": "#/components/responses/Error" },
          "403": { "$ref": "#/components/responses/Error" },
          "413": { "$ref": "#/components/responses/Error" },
          "429": { "description": "rate_limited, or erasure_rate_limited (too many ErasureEntries from this client); retry later.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "503": { "description": "unavailable (writer overloaded) or writer_failed (the node is stopping); retry later.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "507": { "description": "erasure_cap_reached: the node takes no more ErasureEntries today; retry later.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
        }
      }
    },
    "/v1/grants/{grant_id}/bundle": {
      "put": {
        "summary": "Upload the off-log grant bundle (ADR 0003).",
        "parameters": [
          { "$ref": "#/components/parameters/GrantId" },
          { "name": "Carekey-Signature", "in": "header", "required": true, "description": "base64url Ed25519 signature by the grant key over \"carekey/v1/upload\\n\" ‖ grant_id ‖ \"\\n\" ‖ SHA-256(body)", "schema": { "type": "string" } }
        ],
        "requestBody": { "required": true, "content": { "application/octet-stream": {} } },
        "responses": {
          "204": { "description": "Stored." },
          "400": { "$ref": "#/components/responses/Error" },
          "403": { "$ref": "#/components/responses/Error" },
          "404": { "$ref": "#/components/responses/Error" },
          "408": { "$ref": "#/components/responses/Error" },
          "413": { "$ref": "#/components/responses/Error" },
          "507": { "description": "bundle_store_full: the node's bundle store is at its bound (decided from Content-Length before the body is read); retry later or use another node.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
        }
      }
    },
    "/v1/grants/{grant_id}/fetch": {
      "post": {
        "summary": "A provider downloads a grant's bundle; the node first logs an AccessEvent.",
        "parameters": [ { "$ref": "#/components/parameters/GrantId" } ],
        "requestBody": { "required": true, "content": { "application/cose": { "description": "The provider's signed FetchRequest (COSE_Sign1)." } } },
        "responses": {
          "200": {
            "description": "The bundle bytes, once the access event is in a signed checkpoint.",
            "headers": { "Carekey-Access-Event": { "description": "The access event's log index.", "schema": { "type": "integer" } } },
            "content": { "application/octet-stream": {} }
          },
          "400": { "$ref": "#/components/responses/Error" },
          "403": { "description": "code: revoked | expired | not_yet_valid | erased | wrong_provider | wrong_node | replayed | stale_request", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "404": { "$ref": "#/components/responses/Error" },
          "413": { "$ref": "#/components/responses/Error" }
        }
      }
    },
    "/v1/grants/{grant_id}": {
      "delete": {
        "summary": "Erase the off-log copy of a grant's bundle; later fetches are refused (erased).",
        "parameters": [
          { "$ref": "#/components/parameters/GrantId" },
          { "name": "Carekey-Signature", "in": "header", "required": true, "description": "base64url Ed25519 signature by the grant key over \"carekey/v1/delete\\n\" ‖ grant_id", "schema": { "type": "string" } }
        ],
        "responses": {
          "204": { "description": "Erased." },
          "400": { "$ref": "#/components/responses/Error" },
          "403": { "$ref": "#/components/responses/Error" },
          "404": { "$ref": "#/components/responses/Error" }
        }
      }
    },
    "/v1/backup-shares/{share_id}": {
      "parameters": [
        { "name": "share_id", "in": "path", "required": true, "description": "32 lowercase hex digits", "schema": { "type": "string", "pattern": "^[0-9a-f]{32}$" } }
      ],
      "put": {
        "summary": "Store a backup key share (32 bytes) with its owner's Ed25519 key; idempotent.",
        "parameters": [
          { "name": "Carekey-Signature", "in": "header", "required": true, "description": "base64url Ed25519 signature by the owner key over \"carekey/v1/backup-share/put\\n\" ‖ share_id ‖ \"\\n\" ‖ share", "schema": { "type": "string" } }
        ],
        "requestBody": { "required": true, "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary", "description": "share (32 bytes) ‖ owner public key (32 bytes)" } } } },
        "responses": {
          "201": { "description": "Stored." },
          "204": { "description": "Already stored (same share and owner)." },
          "400": { "$ref": "#/components/responses/Error" },
          "403": { "$ref": "#/components/responses/Error" },
          "409": { "$ref": "#/components/responses/Error" }
        }
      },
      "get": {
        "summary": "Read a backup key share (a restore needs it).",
        "responses": {
          "200": { "description": "The 32-byte share.", "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } },
          "404": { "$ref": "#/components/responses/Error" }
        }
      },
      "delete": {
        "summary": "Delete a backup key share (erasure): backups sealed with it no longer open.",
        "parameters": [
          { "name": "Carekey-Signature", "in": "header", "required": true, "description": "base64url Ed25519 signature by the owner key over \"carekey/v1/backup-share/delete\\n\" ‖ share_id", "schema": { "type": "string" } }
        ],
        "responses": {
          "204": { "description": "Deleted (or there was none)." },
          "400": { "$ref": "#/components/responses/Error" },
          "403": { "$ref": "#/components/responses/Error" }
        }
      }
    },
    "/v1/links/{link_id}": {
      "parameters": [ { "$ref": "#/components/parameters/LinkId" } ],
      "put": {
        "summary": "Register a SMART Health Link (its JWE files, keys, expiry, passcode verifier), or replace its files with a higher version (protocol §7). The node never receives the file key.",
        "parameters": [
          { "name": "Carekey-Signature", "in": "header", "required": true, "description": "base64url Ed25519 signature by the link key over \"carekey/v1/link/put\\n\" ‖ link_id ‖ \"\\n\" ‖ SHA-256(body)", "schema": { "type": "string" } }
        ],
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/LinkRegistration" } } } },
        "responses": {
          "200": { "description": "Registered (or updated; a repeat of the stored registration is answered the same).", "content": { "application/json": { "schema": { "type": "object", "required": ["url"], "properties": { "url": { "type": "string", "description": "The manifest URL." } } } } } },
          "400": { "$ref": "#/components/responses/Error" },
          "403": { "description": "code: bad_signature | link_key_mismatch", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "404": { "description": "code: link_ended (an ended id is never reused)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "409": { "description": "code: stale_version", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "413": { "$ref": "#/components/responses/Error" }
        }
      },
      "delete": {
        "summary": "End the link: its files and file tokens are deleted at once; every later request is 404.",
        "parameters": [
          { "name": "Carekey-Signature", "in": "header", "required": true, "description": "base64url Ed25519 signature by the link key over \"carekey/v1/link/delete\\n\" ‖ link_id", "schema": { "type": "string" } }
        ],
        "responses": {
          "204": { "description": "Ended (or already ended)." },
          "400": { "$ref": "#/components/responses/Error" },
          "403": { "$ref": "#/components/responses/Error" },
          "404": { "description": "code: unknown_link", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
        }
      },
      "post": {
        "summary": "The SMART Health Links manifest request. The node logs a LinkOpenEvent (sealed to the link's event key) and answers once it is in a signed checkpoint. CORS-enabled.",
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ManifestRequest" } } } },
        "responses": {
          "200": { "description": "The manifest: files embedded (JWE at most embeddedLengthMax bytes) or by location (valid one hour).", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Manifest" } } } },
          "400": { "$ref": "#/components/responses/Error" },
          "401": { "description": "Wrong or missing passcode, logged; one attempt was taken off.", "content": { "application/json": { "schema": { "type": "object", "required": ["remainingAttempts"], "properties": { "remainingAttempts": { "type": "integer", "minimum": 0 } } } } } },
          "404": { "description": "code: unknown_link | link_ended | link_expired | link_exhausted; nothing was logged.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "413": { "$ref": "#/components/responses/Error" }
        }
      },
      "options": {
        "summary": "CORS preflight of the manifest request.",
        "responses": { "204": { "description": "Access-Control-Allow-Origin: *, Access-Control-Allow-Methods: GET, POST, OPTIONS, Access-Control-Allow-Headers: content-type." } }
      }
    },
    "/v1/links/{link_id}/files/{n}": {
      "parameters": [
        { "$ref": "#/components/parameters/LinkId" },
        { "name": "n", "in": "path", "required": true, "description": "The file's position in the registration.", "schema": { "type": "integer", "minimum": 0 } },
        { "name": "t", "in": "query", "required": true, "description": "The token from the manifest's location URL (base64url, 32 bytes).", "schema": { "type": "string" } }
      ],
      "get": {
        "summary": "A file handed out by location in a manifest, while its token lives (one hour) and the link is not ended. CORS-enabled.",
        "responses": {
          "200": { "description": "The JWE compact serialization.", "content": { "application/jose": { "schema": { "type": "string" } } } },
          "404": { "$ref": "#/components/responses/Error" }
        }
      },
      "options": {
        "summary": "CORS preflight of the file download.",
        "responses": { "204": { "description": "As for the manifest request." } }
      }
    },
    "/v1/health": {
      "get": {
        "summary": "The writer's state and the bundle store's fill.",
        "responses": {
          "200": { "description": "{writer: running|restarting, writer_restarts, bundle_bytes, max_bundle_bytes}; Cache-Control: no-store.", "content": { "application/json": {} } },
          "503": { "description": "{writer: failed, ...}: the writer failed and could not be reopened; the process is exiting.", "content": { "application/json": {} } }
        }
      }
    },
    "/v1/openapi.json": {
      "get": { "summary": "This document.", "responses": { "200": { "description": "OpenAPI 3.1 JSON." } } }
    }
  },
  "components": {
    "parameters": {
      "GrantId": { "name": "grant_id", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^[0-9a-fA-F]{32}$" } },
      "LinkId": { "name": "link_id", "in": "path", "required": true, "description": "32 random bytes, base64url", "schema": { "type": "string", "pattern": "^[A-Za-z0-9_-]{43}$" } }
    },
    "schemas": {
      "EntrySubmission": {
        "type": "object",
        "required": ["entry"],
        "additionalProperties": false,
        "properties": {
          "entry": { "type": "string", "description": "base64url COSE entry" },
          "grant": { "type": "string", "description": "base64url signed grant (GrantCommitment only, kept off-log)" },
          "binding": { "type": "string", "description": "base64url LedgerBinding (GrantCommitment only)" },
          "salt": { "type": "string", "description": "base64url 32 bytes (GrantCommitment only)" }
        }
      },
      "Appended": {
        "type": "object",
        "required": ["index", "receipt"],
        "properties": {
          "index": { "type": "integer", "minimum": 0 },
          "receipt": { "type": "string", "description": "C2SP tlog-proof receipt text" }
        }
      },
      "LinkRegistration": {
        "type": "object",
        "required": ["linkKey", "eventKey", "version", "files"],
        "additionalProperties": false,
        "properties": {
          "linkKey": { "type": "string", "description": "base64url Ed25519 public key (32 bytes)" },
          "eventKey": { "type": "string", "description": "base64url X25519 public key (32 bytes)" },
          "version": { "type": "integer", "minimum": 1 },
          "exp": { "type": "integer", "description": "unix seconds" },
          "passcode": { "type": "object", "required": ["salt", "hash"], "additionalProperties": false, "properties": { "salt": { "type": "string", "description": "base64url 16 bytes" }, "hash": { "type": "string", "description": "base64url Argon2id (19 MiB, t = 2, p = 1) of the passcode, 32 bytes" } } },
          "attempts": { "type": "integer", "minimum": 1, "maximum": 100, "description": "with a passcode only" },
          "files": { "type": "array", "minItems": 1, "maxItems": 100, "items": { "type": "object", "required": ["contentType", "jwe"], "additionalProperties": false, "properties": { "contentType": { "type": "string" }, "jwe": { "type": "string" } } } }
        }
      },
      "ManifestRequest": {
        "type": "object",
        "required": ["recipient"],
        "properties": {
          "recipient": { "type": "string", "maxLength": 256 },
          "passcode": { "type": "string" },
          "embeddedLengthMax": { "type": "integer", "minimum": 0 }
        }
      },
      "Manifest": {
        "type": "object",
        "required": ["files"],
        "properties": {
          "files": { "type": "array", "items": { "type": "object", "required": ["contentType"], "properties": { "contentType": { "type": "string" }, "embedded": { "type": "string" }, "location": { "type": "string" } } } }
        }
      },
      "Error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": { "code": { "type": "string" }, "message": { "type": "string" } }
      }
    },
    "responses": {
      "Error": { "description": "Refused.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
    }
  }
}
"##;
