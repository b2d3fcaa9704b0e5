// Package codec encrypts Temporal payloads with AES-256-GCM, so prospects' emails, names and
// companies rest in the Temporal server's history as ciphertext. Keys carry ids: a payload names
// the key that sealed it, the newest key seals, and every key in the ring opens, so keys rotate
// without rewriting histories.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

const (
	// Encoding is the metadata "encoding" of an encrypted payload.
	Encoding = "binary/encrypted"
	// MetadataKeyID names the key that sealed a payload.
	MetadataKeyID = "encryption-key-id"
	// KeySize is the length of an AES-256 key in bytes.
	KeySize = 32
)

// Key is one entry of a key ring: an id stored in plain text beside each payload it seals, and
// the secret itself.
type Key struct {
	ID     string
	Secret []byte
}

// validID keeps ids printable and free of the separators of the key list and file formats.
var validID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// Codec is a converter.PayloadCodec over a key ring: it seals with the primary (first) key and
// opens with whichever key a payload names.
type Codec struct {
	primary string
	ids     []string
	aeads   map[string]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New builds a codec from a key ring; the first key is the primary, which seals every new
// payload. It rejects empty rings, bad or repeated ids and keys that are not KeySize bytes.
func New(keys []Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("no encryption key")
	}
	c := &Codec{primary: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for i, k := range keys {
		if k.ID == "" {
			return nil, fmt.Errorf("key %d: empty key id", i+1)
		}
		if !validID.MatchString(k.ID) {
			return nil, fmt.Errorf("key %d: key id %q: want 1 to 64 of A-Z a-z 0-9 . _ : -", i+1, k.ID)
		}
		if _, dup := c.aeads[k.ID]; dup {
			return nil, fmt.Errorf("key %d: duplicate key id %q", i+1, k.ID)
		}
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("key %q: %d bytes, want %d (generate one with: head -c32 /dev/urandom | base64)", k.ID, len(k.Secret), KeySize)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.ID, err)
		}
		c.aeads[k.ID] = aead
		c.ids = append(c.ids, k.ID)
	}
	return c, nil
}

// Primary is the id of the key that seals new payloads.
func (c *Codec) Primary() string { return c.primary }

// KeyIDs lists the ring's key ids, primary first.
func (c *Codec) KeyIDs() []string { return slices.Clone(c.ids) }

// Encode seals each payload, data and metadata together (so an encoding such as json/plain does
// not show), under the primary key with a fresh random nonce.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.primary]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) == Encoding {
			return payloads, fmt.Errorf("codec: payload %d is already encrypted (key id %q)", i, p.GetMetadata()[MetadataKeyID])
		}
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("codec: marshal payload %d: %w", i, err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return payloads, fmt.Errorf("codec: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(Encoding),
				MetadataKeyID:              []byte(c.primary),
			},
			Data: aead.Seal(nonce, nonce, plain, additionalData(c.primary)),
		}
	}
	return out, nil
}

// Decode opens each encrypted payload with the key it names; payloads that are not encrypted
// (histories written before a key was configured) pass through unchanged.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		if id == "" {
			return payloads, fmt.Errorf("codec: encrypted payload %d names no key (no %s metadata)", i, MetadataKeyID)
		}
		aead, ok := c.aeads[id]
		if !ok {
			return payloads, fmt.Errorf("codec: payload %d was encrypted with key id %q, which is not configured (known: %s)", i, id, strings.Join(c.ids, ", "))
		}
		data := p.GetData()
		if len(data) < aead.NonceSize()+aead.Overhead() {
			return payloads, fmt.Errorf("codec: payload %d (key id %q): ciphertext too short", i, id)
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], additionalData(id))
		if err != nil {
			return payloads, fmt.Errorf("codec: payload %d (key id %q): cannot decrypt (wrong key or tampered ciphertext): %w", i, id, err)
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(plain, &orig); err != nil {
			return payloads, fmt.Errorf("codec: payload %d (key id %q): decrypted data is not a payload: %w", i, id, err)
		}
		out[i] = &orig
	}
	return out, nil
}

// additionalData binds the ciphertext to its key id and format: a payload whose metadata was
// edited to name another key, or another format, fails to open.
func additionalData(keyID string) []byte { return []byte(Encoding + "\x00" + keyID) }

// DataConverter is the SDK's default data converter with payloads sealed by c.
func DataConverter(c *Codec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter moves failure messages and stack traces into encoded attributes, so the
// data converter dc seals them too: an error message may quote a prospect's email.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true})
}

// Apply makes the client seal payloads and failures with c. A nil c leaves the options alone:
// payloads stay plain, as without a key.
func (c *Codec) Apply(opts *client.Options) {
	if c == nil {
		return
	}
	opts.DataConverter = DataConverter(c)
	opts.FailureConverter = FailureConverter(opts.DataConverter)
}
