package codec

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// b64 is a base64 key of n bytes, each byte v.
func b64(n int, v byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{v}, n))
}

func TestParseKeyList(t *testing.T) {
	k1, k2 := b64(32, 1), b64(32, 2)
	keys, err := ParseKeyList(" k2=" + k2 + " , k1=" + k1 + " ")
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(keys)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.KeyIDs(), ","); got != "k2,k1" || c.Primary() != "k2" {
		t.Errorf("ids %s, primary %s: want k2,k1 with k2 primary", got, c.Primary())
	}
	if !bytes.Equal(keys[1].Secret, bytes.Repeat([]byte{1}, 32)) {
		t.Error("k1's secret was not decoded")
	}
}

func TestParseKeyFile(t *testing.T) {
	file := "# prospect-sync payload keys, newest first\n\nk3=" + b64(32, 3) + "\n  # retired 2026-11\nk2=" + b64(32, 2) + "\r\n"
	keys, err := ParseKeyFile([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].ID != "k3" || keys[1].ID != "k2" {
		t.Errorf("keys %v: want k3 then k2", keys)
	}
}

// TestKeyValidationErrors: every malformed ring is refused, with a message naming the entry or
// line and key id, and never the key itself.
func TestKeyValidationErrors(t *testing.T) {
	good := b64(32, 7)
	short := b64(16, 8)
	long := b64(33, 9)
	tests := []struct {
		name, list, file, want string
	}{
		{name: "no equals", list: "k1", want: "entry 1: want id=base64key"},
		{name: "empty id", list: "=" + good, want: "entry 1: empty key id"},
		{name: "empty entry", list: "k1=" + good + ",", want: "entry 2: want id=base64key"},
		{name: "bad base64", list: "k1=" + good + ",k2=not*base64", want: `entry 2: key "k2" is not standard base64`},
		{name: "short key", list: "k1=" + short, want: `key "k1": 16 bytes, want 32`},
		{name: "long key", list: "k1=" + long, want: `key "k1": 33 bytes, want 32`},
		{name: "empty key", list: "k1=", want: `key "k1": 0 bytes, want 32`},
		{name: "duplicate id", list: "k1=" + good + ",k1=" + b64(32, 1), want: `key 2: duplicate key id "k1"`},
		{name: "bad id", list: "my key=" + good, want: `key 1: key id "my key"`},
		{name: "file line numbers", file: "# keys\nk1=" + good + "\nk2\n", want: "line 3: want id=base64key"},
		{name: "file empty id", file: " =" + good, want: "line 1: empty key id"},
		{name: "file short key", file: "k1=" + short, want: `key "k1": 16 bytes`},
		{name: "file duplicate", file: "k1=" + good + "\nk1=" + good, want: `duplicate key id "k1"`},
		{name: "file only comments", file: "# nothing yet\n\n", want: "no encryption key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var keys []Key
			var err error
			if tc.file != "" {
				keys, err = ParseKeyFile([]byte(tc.file))
			} else {
				keys, err = ParseKeyList(tc.list)
			}
			if err == nil {
				_, err = New(keys)
			}
			if err == nil {
				t.Fatalf("accepted %q%q", tc.list, tc.file)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			for _, secret := range []string{good, short, long} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds key material", err)
				}
			}
		})
	}
}
