package main

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"strconv"

	"github.com/dustin/go-humanize"
)

// byteSize is a flag of a byte count: 52428800, 50MiB, 50MB, 1.5GiB.
type byteSize int64

func (b *byteSize) String() string { return humanize.IBytes(uint64(*b)) }

func (b *byteSize) Set(s string) error {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 {
			return fmt.Errorf("size %q must be positive", s)
		}
		*b = byteSize(n)
		return nil
	}
	n, err := humanize.ParseBytes(s)
	if err != nil || n == 0 || n > 1<<62 {
		return fmt.Errorf("size %q is not a byte count like 50MiB", s)
	}
	*b = byteSize(n)
	return nil
}

// mediaCookieKey derives the key of media cookie tokens from the token
// secret, so that a media cookie never verifies as an access token.
func mediaCookieKey(secret []byte) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, secret, nil, "hearth/media-cookie/1", 32)
	if err != nil {
		return nil, fmt.Errorf("derive media cookie key: %w", err)
	}
	return k, nil
}
