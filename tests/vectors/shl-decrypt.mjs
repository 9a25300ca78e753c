// Decrypts SMART Health Link files with the npm package `kill-the-clipboard` (pinned in
// package.json), to show that files Carekey encrypts open in an independent implementation.
// Reads a JSON array [{key, jwe}, …] on stdin; prints [{contentType, content}, …].
// Usage: node tests/vectors/shl-decrypt.mjs < files.json
import { decryptSHLFile } from "kill-the-clipboard";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const { key, jwe } of JSON.parse(input)) {
  const { content, contentType } = await decryptSHLFile({ jwe, key });
  out.push({ contentType, content });
}
process.stdout.write(JSON.stringify(out));
