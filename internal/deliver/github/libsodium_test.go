package github_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/nacl/box"

	"github.com/keyrot/keyrot/internal/deliver/github"
)

// sodium runs testdata/libsodium/sealedbox.js (libsodium-wrappers, libsodium
// compiled to JavaScript) with one request. It skips the test when node or
// the package is missing, unless KEYROT_REQUIRE_LIBSODIUM=1 (set by CI,
// which runs npm ci there).
func sodium(t *testing.T, req map[string]string) map[string]string {
	t.Helper()
	dir := filepath.Join("testdata", "libsodium")
	require := os.Getenv("KEYROT_REQUIRE_LIBSODIUM") == "1"
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "libsodium-wrappers", "package.json"))
	}
	if err != nil {
		if require {
			t.Fatalf("libsodium-wrappers is required (KEYROT_REQUIRE_LIBSODIUM=1): %v; run npm ci --prefix %s", err, dir)
		}
		t.Skipf("libsodium-wrappers not installed (%v); run npm ci --prefix internal/deliver/github/%s", err, dir)
	}
	in, _ := json.Marshal(req)
	cmd := exec.Command(node, "sealedbox.js")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node sealedbox.js: %v\n%s", err, stderr.String())
	}
	var resp map[string]string
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("node answer %q: %v", out, err)
	}
	return resp
}

// TestSealedBoxInteroperatesWithLibsodium checks both directions: libsodium
// opens what SealSecret sealed (what GitHub does with encrypted_value), and
// Go opens what libsodium sealed, so the fake server's box.OpenAnonymous
// agrees with libsodium's crypto_box_seal_open.
func TestSealedBoxInteroperatesWithLibsodium(t *testing.T) {
	b64 := base64.StdEncoding
	plain := "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+ü"

	kp := sodium(t, map[string]string{"op": "keypair"})
	sealed, err := github.SealSecret(kp["pub"], []byte(plain), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	got := sodium(t, map[string]string{"op": "open", "pub": kp["pub"], "priv": kp["priv"], "sealed": sealed})
	if got["error"] != "" {
		t.Fatalf("libsodium could not open the box sealed by Go: %s", got["error"])
	}
	if p, _ := b64.DecodeString(got["plaintext"]); string(p) != plain {
		t.Errorf("libsodium opened %q, want %q", p, plain)
	}
	// A box sealed for another key must not open: the check can fail.
	other, _, _ := box.GenerateKey(rand.Reader)
	wrong, _ := github.SealSecret(b64.EncodeToString(other[:]), []byte(plain), rand.Reader)
	if got := sodium(t, map[string]string{"op": "open", "pub": kp["pub"], "priv": kp["priv"], "sealed": wrong}); got["error"] == "" {
		t.Errorf("libsodium opened a box sealed for another key")
	}

	pub, priv, err := box.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := sodium(t, map[string]string{"op": "seal", "pub": b64.EncodeToString(pub[:]), "plaintext": b64.EncodeToString([]byte(plain))})
	raw, err := b64.DecodeString(s["sealed"])
	if err != nil {
		t.Fatal(err)
	}
	opened, ok := box.OpenAnonymous(nil, raw, pub, priv)
	if !ok || string(opened) != plain {
		t.Errorf("Go opened libsodium's box: %q, %v; want %q", opened, ok, plain)
	}
}
