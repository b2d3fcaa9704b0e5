package codec

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
)

// ParseKeyList reads a comma-separated list of id=base64key, the primary first (the form of an
// environment variable). Errors name the entry and its id, never the key.
func ParseKeyList(s string) ([]Key, error) {
	var keys []Key
	for i, entry := range strings.Split(s, ",") {
		k, err := parseKey(entry)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// ParseKeyFile reads one id=base64key a line, the primary first; blank lines and lines starting
// with # are skipped.
func ParseKeyFile(b []byte) ([]Key, error) {
	var keys []Key
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := parseKey(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return keys, nil
}

// parseKey reads one id=base64key. The decoded length is checked by New, with the rest of the ring.
func parseKey(entry string) (Key, error) {
	id, b64, ok := strings.Cut(strings.TrimSpace(entry), "=")
	id, b64 = strings.TrimSpace(id), strings.TrimSpace(b64)
	switch {
	case !ok:
		return Key{}, fmt.Errorf("want id=base64key")
	case id == "":
		return Key{}, fmt.Errorf("empty key id")
	}
	secret, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		// The decoder's message gives an offset, not the text: no key material in errors.
		return Key{}, fmt.Errorf("key %q is not standard base64: %w", id, err)
	}
	return Key{ID: id, Secret: secret}, nil
}
