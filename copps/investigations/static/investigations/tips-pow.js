/* Proof-of-work for the anonymous tip form (copps/investigations/tip_forms.py).
 *
 * Finds a nonce such that sha256(challenge + nonce) starts with `data-pow-bits` zero bits and
 * puts it in the hidden "nonce" field. Work earns the ordinary rate limit; without it (no
 * JavaScript) the form still works under a stricter one. Own code, no third party, no network,
 * no inline script (the Content-Security-Policy allows scripts from this origin only).
 */
(function () {
  "use strict";

  var K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ];
  var W = new Array(64);

  function rotr(x, n) { return (x >>> n) | (x << (32 - n)); }

  /* SHA-256 of an ASCII string (the challenge is URL-safe base64 and ':'; the nonce digits);
   * returns the eight 32-bit words of the digest. */
  function sha256(text) {
    var bytes = [], i, j;
    for (i = 0; i < text.length; i++) { bytes.push(text.charCodeAt(i) & 0xff); }
    var bitLength = bytes.length * 8;
    bytes.push(0x80);
    while (bytes.length % 64 !== 56) { bytes.push(0); }
    for (i = 7; i >= 0; i--) { bytes.push(i >= 4 ? 0 : (bitLength >>> (i * 8)) & 0xff); }
    var h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    for (i = 0; i < bytes.length; i += 64) {
      for (j = 0; j < 16; j++) {
        W[j] = (bytes[i + 4 * j] << 24) | (bytes[i + 4 * j + 1] << 16) | (bytes[i + 4 * j + 2] << 8) | bytes[i + 4 * j + 3];
      }
      for (j = 16; j < 64; j++) {
        var s0 = rotr(W[j - 15], 7) ^ rotr(W[j - 15], 18) ^ (W[j - 15] >>> 3);
        var s1 = rotr(W[j - 2], 17) ^ rotr(W[j - 2], 19) ^ (W[j - 2] >>> 10);
        W[j] = (W[j - 16] + s0 + W[j - 7] + s1) | 0;
      }
      var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
      for (j = 0; j < 64; j++) {
        var t1 = (k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[j] + W[j]) | 0;
        var t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
      h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + k) | 0;
    }
    return h;
  }

  function solves(words, bits) {
    for (var i = 0; bits > 0; i++, bits -= 32) {
      var word = words[i] >>> 0;
      if (bits >= 32) { if (word !== 0) { return false; } }
      else if ((word >>> (32 - bits)) !== 0) { return false; }
    }
    return true;
  }

  function start(form) {
    var challenge = form.querySelector('input[name="challenge"]');
    var nonceField = form.querySelector('input[name="nonce"]');
    var bits = parseInt(form.getAttribute("data-pow-bits"), 10) || 0;
    if (!challenge || !nonceField || !challenge.value) { return; }
    var nonce = 0, done = false;

    function work(budget) {
      for (var n = 0; n < budget && !done; n++, nonce++) {
        if (solves(sha256(challenge.value + nonce), bits)) {
          nonceField.value = String(nonce);
          done = true;
        }
      }
      return done;
    }

    function step() {
      if (!work(2000)) { window.setTimeout(step, 0); }
    }

    form.addEventListener("submit", function () {
      // Still searching when the person presses Send: finish now (a fraction of a second).
      while (!done && nonce < 1e9) { work(10000); }
    });
    window.setTimeout(step, 0);
  }

  var forms = document.querySelectorAll("form[data-pow-bits]");
  for (var i = 0; i < forms.length; i++) { start(forms[i]); }
})();
