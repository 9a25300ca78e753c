// Sends `n` manifest requests with a wrong passcode to one SMART Health Link manifest URL, all
// at once, and prints their HTTP statuses (sorted): the node must never let more wrong
// passcodes through than the link's budget, however they race.
// Usage: node tests/vectors/shl-hammer.mjs <manifest-url> <n>
const [url, n] = process.argv.slice(2);
const statuses = await Promise.all(
  Array.from({ length: Number(n) }, (_, i) =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ recipient: `Hammer ${i}`, passcode: `wrong-${i}` }),
    }).then((r) => r.status, () => 0),
  ),
);
process.stdout.write(JSON.stringify(statuses.sort((a, b) => a - b)));
