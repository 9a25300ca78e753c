// Opens a SMART Health Link the way a stock viewer does, with the npm package
// `kill-the-clipboard` pinned in package.json (its `SHLViewer.resolveSHL`, 1.1.0): POSTs the
// manifest request to the link's URL, fetches and decrypts every file.
// Usage: node tests/vectors/shl-resolve.mjs '<shlink:/… or viewer link>' '<recipient>' [passcode] [embeddedLengthMax]
// Prints {ok: true, resources, ivs} (the resolved FHIR resources, and the IV of each JWE in the
// manifest), or {ok: false, error, message, status} when the viewer refused or the server said no.
import { SHLViewer } from "kill-the-clipboard";

const [uri, recipient, passcode, embedded] = process.argv.slice(2);
const ivs = [];
// Wraps fetch to see the manifest the server sent (the IVs of its files) and its status codes.
let lastStatus = null;
const spy = async (url, options) => {
  const response = await fetch(url, options);
  lastStatus = response.status;
  if (options?.method === "POST" && response.ok) {
    const body = await response.clone().json();
    for (const f of body.files ?? []) {
      if (f.embedded) ivs.push(f.embedded.split(".")[2]);
    }
  } else if (!options?.method || options.method === "GET") {
    const text = await response.clone().text();
    if (response.ok && text.split(".").length === 5) ivs.push(text.split(".")[2]);
  }
  return response;
};
try {
  const viewer = new SHLViewer({ shlinkURI: uri, fetch: spy });
  const params = { recipient };
  if (passcode) params.passcode = passcode;
  if (embedded !== undefined) params.embeddedLengthMax = Number(embedded);
  const resolved = await viewer.resolveSHL(params);
  process.stdout.write(JSON.stringify({ ok: true, resources: resolved.fhirResources, ivs }));
} catch (e) {
  process.stdout.write(JSON.stringify({
    ok: false, error: e?.constructor?.name ?? "Error", message: String(e?.message ?? e), status: lastStatus,
  }));
}
