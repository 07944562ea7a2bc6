package httpapi

import (
	"encoding/hex"
	"strings"

	"github.com/google/uuid"
)

// parsePK reads a UUID as Python's uuid.UUID(hex=...) does, which is what
// Django does with the pk in the path and with UUID filter values: optional
// "urn:uuid:" and braces, hyphens anywhere, 32 hex digits in any case. It
// returns the canonical form, which Kubernetes uids have.
func parsePK(s string) (string, bool) {
	if isCanonicalUUID(s) {
		return s, true
	}
	h := strings.ReplaceAll(s, "urn:", "")
	h = strings.ReplaceAll(h, "uuid:", "")
	h = strings.Trim(h, "{}")
	h = strings.ReplaceAll(h, "-", "")
	if len(h) != 32 {
		return "", false
	}
	var b [16]byte
	if _, err := hex.Decode(b[:], []byte(h)); err != nil {
		return "", false
	}
	return uuid.UUID(b).String(), true
}

func isCanonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
