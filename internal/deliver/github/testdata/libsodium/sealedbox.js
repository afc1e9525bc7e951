// Sealed-box interoperability with libsodium: reads one JSON request on
// stdin and writes one JSON answer on stdout.
//   {"op":"keypair"}                              -> {"pub","priv"}
//   {"op":"seal","pub","plaintext"}               -> {"sealed"}
//   {"op":"open","pub","priv","sealed"}           -> {"plaintext"} or {"error"}
// Keys, sealed boxes and plaintexts are base64 (original variant).
const sodium = require('libsodium-wrappers');

let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', async () => {
  await sodium.ready;
  const b64 = sodium.base64_variants.ORIGINAL;
  const req = JSON.parse(input);
  const from = (s) => sodium.from_base64(s, b64);
  const to = (b) => sodium.to_base64(b, b64);
  let out;
  switch (req.op) {
    case 'keypair': {
      const kp = sodium.crypto_box_keypair();
      out = { pub: to(kp.publicKey), priv: to(kp.privateKey) };
      break;
    }
    case 'seal':
      out = { sealed: to(sodium.crypto_box_seal(from(req.plaintext), from(req.pub))) };
      break;
    case 'open':
      try {
        out = { plaintext: to(sodium.crypto_box_seal_open(from(req.sealed), from(req.pub), from(req.priv))) };
      } catch (e) {
        out = { error: String(e.message || e) };
      }
      break;
    default:
      out = { error: 'unknown op' };
  }
  process.stdout.write(JSON.stringify(out));
});
