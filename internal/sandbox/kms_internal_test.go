package sandbox

import (
	"bytes"
	"testing"
)

// FuzzKMSCiphertext feeds Decrypt's ciphertext parser arbitrary blobs: it
// must never panic, must name a key only from a well-formed header, and a
// blob sealed under a key must open only intact, under that key and that
// encryption context.
func FuzzKMSCiphertext(f *testing.F) {
	k := &KMSKey{ARN: "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
	f.Add(kmsSeal(k, []byte("hello"), map[string]string{"SecretARN": "x"}), []byte("hello"))
	f.Add([]byte("SBK1"), []byte{})
	f.Add([]byte("SBK1\xff"), []byte("x"))
	f.Add([]byte{}, []byte("plain"))
	f.Fuzz(func(t *testing.T, blob, plain []byte) {
		if arn, rest, ok := kmsOpenHeader(blob); ok {
			if 5+len(arn)+len(rest) != len(blob) {
				t.Fatalf("header of %d bytes names %q and leaves %d", len(blob), arn, len(rest))
			}
			if other := (&KMSKey{ARN: arn}); len(rest) > 0 {
				_, _ = kmsOpen(other, rest, nil) // must not panic
			}
		}
		ctx := map[string]string{"k": string(plain)}
		sealed := kmsSeal(k, plain, ctx)
		arn, rest, ok := kmsOpenHeader(sealed)
		if !ok || arn != k.ARN {
			t.Fatalf("sealed blob names %q (%v)", arn, ok)
		}
		got, ok := kmsOpen(k, rest, ctx)
		if !ok || !bytes.Equal(got, plain) {
			t.Fatalf("round trip: %q %v", got, ok)
		}
		if _, ok := kmsOpen(k, rest, map[string]string{"k": string(plain) + "x"}); ok {
			t.Fatal("opened under another encryption context")
		}
		if len(blob) > 0 {
			tampered := append([]byte{}, rest...)
			tampered[int(blob[0])%len(tampered)] ^= 1
			if _, ok := kmsOpen(k, tampered, ctx); ok {
				t.Fatal("opened a tampered ciphertext")
			}
		}
	})
}
