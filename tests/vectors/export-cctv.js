// Writes every C2SP CCTV age vector from the npm package `cctv-age` into a
// directory, for carekey-crypto's conformance test:
//   <dir>/<name>.meta  the textual header (expect, payload, identity, ...)
//   <dir>/<name>.age   the age file, zlib-decompressed if `compressed: zlib`
// Usage: node tests/vectors/export-cctv.js <dir>
"use strict";
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");

async function main() {
  const dir = process.argv[2];
  if (!dir) throw new Error("usage: node export-cctv.js <output dir>");
  const vectors = await import("cctv-age");
  let count = 0;
  for (const [name, bytes] of Object.entries(vectors)) {
    const buf = Buffer.from(bytes);
    const split = buf.indexOf("\n\n");
    if (split < 0) throw new Error(`vector ${name} has no blank line after its header`);
    const meta = buf.subarray(0, split).toString("utf8");
    let file = buf.subarray(split + 2);
    if (/^compressed: zlib$/m.test(meta)) file = zlib.inflateSync(file);
    fs.writeFileSync(path.join(dir, `${name}.meta`), meta + "\n");
    fs.writeFileSync(path.join(dir, `${name}.age`), file);
    count++;
  }
  process.stdout.write(`${count}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
