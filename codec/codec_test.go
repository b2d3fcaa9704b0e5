package codec

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

func newKey(t *testing.T, id string) Key {
	t.Helper()
	k := Key{ID: id, Secret: make([]byte, KeySize)}
	if _, err := rand.Read(k.Secret); err != nil {
		t.Fatal(err)
	}
	return k
}

func newCodec(t *testing.T, keys ...Key) *Codec {
	t.Helper()
	c, err := New(keys)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const email = "ada.lovelace@example.com"

// samples are payloads as the default data converter makes them, PII included.
func samples(t *testing.T) []*commonpb.Payload {
	t.Helper()
	dc := converter.GetDefaultDataConverter()
	var out []*commonpb.Payload
	for _, v := range []any{map[string]string{"email": email, "firstName": "Ada", "lastName": "Lovelace"}, nil, []byte("raw bytes"), ""} {
		p, err := dc.ToPayload(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	c := newCodec(t, newKey(t, "k1"))
	in := samples(t)
	enc, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != len(in) {
		t.Fatalf("%d payloads out of %d", len(enc), len(in))
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if !proto.Equal(in[i], dec[i]) {
			t.Errorf("payload %d: decoded %v, want %v", i, dec[i], in[i])
		}
	}
}

// TestEncodedPayloadHidesEverything: the sealed payload shows only the encoding and key id;
// neither the data nor the original metadata (json/plain) appears, and the nonce is fresh each
// time, so equal inputs do not give equal ciphertexts.
func TestEncodedPayloadHidesEverything(t *testing.T) {
	c := newCodec(t, newKey(t, "k1"))
	in := samples(t)[0]
	a, err := c.Encode([]*commonpb.Payload{in})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Encode([]*commonpb.Payload{in})
	if err != nil {
		t.Fatal(err)
	}
	p := a[0]
	if len(p.Metadata) != 2 || string(p.Metadata[converter.MetadataEncoding]) != Encoding || string(p.Metadata[MetadataKeyID]) != "k1" {
		t.Errorf("metadata %q: want only encoding=%s and %s=k1", p.Metadata, Encoding, MetadataKeyID)
	}
	wire, err := proto.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{email, "Lovelace", "json/plain"} {
		if bytes.Contains(wire, []byte(s)) {
			t.Errorf("encoded payload contains %q", s)
		}
	}
	if bytes.Equal(p.Data, b[0].Data) {
		t.Error("two encodings of one payload are equal: the nonce is not fresh")
	}
}

func TestPlainPayloadsDecodeUnchanged(t *testing.T) {
	c := newCodec(t, newKey(t, "k1"))
	in := samples(t)
	out, err := c.Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if out[i] != in[i] {
			t.Errorf("plain payload %d was changed", i)
		}
	}
}

func TestRotation(t *testing.T) {
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	old := newCodec(t, k1)
	sealedOld, err := old.Encode(samples(t))
	if err != nil {
		t.Fatal(err)
	}
	rotated := newCodec(t, k2, k1)
	if rotated.Primary() != "k2" || strings.Join(rotated.KeyIDs(), ",") != "k2,k1" {
		t.Fatalf("primary %q, ids %v: want k2 first", rotated.Primary(), rotated.KeyIDs())
	}
	dec, err := rotated.Decode(sealedOld)
	if err != nil {
		t.Fatalf("a payload sealed with k1 does not open after k2 is prepended: %v", err)
	}
	if !proto.Equal(dec[0], samples(t)[0]) {
		t.Errorf("decoded %v", dec[0])
	}
	sealedNew, err := rotated.Encode(samples(t))
	if err != nil {
		t.Fatal(err)
	}
	if id := string(sealedNew[0].Metadata[MetadataKeyID]); id != "k2" {
		t.Errorf("new payloads sealed with %q, want the new primary k2", id)
	}
	// A worker still on the old ring cannot read them, and says which key it lacks.
	_, err = old.Decode(sealedNew)
	if err == nil || !strings.Contains(err.Error(), `"k2"`) {
		t.Errorf("old ring decoding a k2 payload: %v, want an error naming k2", err)
	}
}

func TestUnknownKeyErrorNamesKeyNotSecret(t *testing.T) {
	k1, k9 := newKey(t, "k1"), newKey(t, "k9")
	sealed, err := newCodec(t, k9).Encode(samples(t)[:1])
	if err != nil {
		t.Fatal(err)
	}
	_, err = newCodec(t, k1).Decode(sealed)
	if err == nil {
		t.Fatal("decoded a payload sealed with a key not in the ring")
	}
	msg := err.Error()
	if !strings.Contains(msg, `key id "k9"`) {
		t.Errorf("error %q does not name the key id k9", msg)
	}
	for _, k := range []Key{k1, k9} {
		if strings.Contains(msg, base64.StdEncoding.EncodeToString(k.Secret)) || strings.Contains(msg, string(k.Secret)) {
			t.Errorf("error %q holds key material", msg)
		}
	}
}

func TestTamperedPayloadsFail(t *testing.T) {
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	c := newCodec(t, k1, k2)
	seal := func() *commonpb.Payload {
		out, err := c.Encode(samples(t)[:1])
		if err != nil {
			t.Fatal(err)
		}
		return out[0]
	}
	tests := map[string]struct {
		edit func(p *commonpb.Payload)
		want string
	}{
		"flipped ciphertext byte": {func(p *commonpb.Payload) { p.Data[len(p.Data)/2] ^= 1 }, "cannot decrypt"},
		"flipped nonce byte":      {func(p *commonpb.Payload) { p.Data[0] ^= 1 }, "cannot decrypt"},
		"truncated":               {func(p *commonpb.Payload) { p.Data = p.Data[:10] }, "too short"},
		"key id swapped":          {func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("k2") }, "cannot decrypt"},
		"key id removed":          {func(p *commonpb.Payload) { delete(p.Metadata, MetadataKeyID) }, "names no key"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := seal()
			tc.edit(p)
			_, err := c.Decode([]*commonpb.Payload{p})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("decode: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestEncodeRefusesEncryptedPayload(t *testing.T) {
	c := newCodec(t, newKey(t, "k1"))
	sealed, err := c.Encode(samples(t)[:1])
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Encode(sealed)
	if err == nil || !strings.Contains(err.Error(), "already encrypted") || !strings.Contains(err.Error(), `"k1"`) {
		t.Errorf("encode of a sealed payload: %v, want an error naming k1", err)
	}
}

type person struct {
	Email, FirstName, LastName string
}

func TestDataConverterSealsValues(t *testing.T) {
	c := newCodec(t, newKey(t, "k1"))
	dc := DataConverter(c)
	in := person{Email: email, FirstName: "Ada", LastName: "Lovelace"}
	p, err := dc.ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Metadata[converter.MetadataEncoding]) != Encoding || bytes.Contains(p.Data, []byte(email)) {
		t.Fatalf("payload %v: want it sealed", p)
	}
	var out person
	if err := dc.FromPayload(p, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("round trip gave %+v", out)
	}
}

// TestFailureConverterSealsMessages: an error message quoting an email leaves the process only
// inside the sealed encoded attributes, and comes back whole.
func TestFailureConverterSealsMessages(t *testing.T) {
	var opts client.Options
	newCodec(t, newKey(t, "k1")).Apply(&opts)
	if opts.DataConverter == nil || opts.FailureConverter == nil {
		t.Fatal("Apply set no converters")
	}
	appErr := temporal.NewApplicationError("INVALID_EMAIL: "+email+" refused", "SyncError")
	f := opts.FailureConverter.ErrorToFailure(appErr)
	wire, err := proto.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(wire, []byte(email)) {
		t.Errorf("failure %v holds the email in plain text", f)
	}
	if string(f.GetEncodedAttributes().GetMetadata()[converter.MetadataEncoding]) != Encoding {
		t.Errorf("encoded attributes %v: want them sealed", f.GetEncodedAttributes())
	}
	back := opts.FailureConverter.FailureToError(f)
	var got *temporal.ApplicationError
	if !errors.As(back, &got) || !strings.Contains(got.Error(), email) || got.Type() != "SyncError" {
		t.Errorf("failure decoded to %v, want the original message and type", back)
	}
}

func TestApplyNilKeepsPlainOptions(t *testing.T) {
	var c *Codec
	opts := client.Options{HostPort: "x"}
	c.Apply(&opts)
	if opts.DataConverter != nil || opts.FailureConverter != nil {
		t.Error("a nil codec set converters")
	}
}
