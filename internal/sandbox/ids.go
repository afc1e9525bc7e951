package sandbox

import (
	"crypto/rand"
	"math/big"
	"strings"
)

const (
	upperBase32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	lowerAlnum  = "abcdefghijklmnopqrstuvwxyz0123456789"
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	digits      = "0123456789"
)

func randFrom(alphabet string, n int) string {
	var b strings.Builder
	max := big.NewInt(int64(len(alphabet)))
	for range n {
		i, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		b.WriteByte(alphabet[i.Int64()])
	}
	return b.String()
}

func randLower(n int) string { return randFrom(lowerAlnum, n) }

// newAccessKeyID returns a long-term (AKIA) or temporary (ASIA) key ID: 20 characters.
func newAccessKeyID(prefix string) string { return prefix + randFrom(upperBase32, 16) }

// newSecretAccessKey returns a 40-character secret.
func newSecretAccessKey() string { return randFrom(secretChars, 40) }

// newUniqueID returns an IAM unique ID such as AIDA... (21 characters).
func newUniqueID(prefix string) string { return prefix + randFrom(upperBase32, 17) }

// newAccountID returns a random 12-digit account ID.
func newAccountID() string { return randFrom("123456789", 1) + randFrom(digits, 11) }

// newRequestID returns a UUID-shaped request ID.
func newRequestID() string {
	h := randFrom("0123456789abcdef", 32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
