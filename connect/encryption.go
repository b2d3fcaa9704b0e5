package connect

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/prospect-sync/prospect-sync/codec"
)

// Payload encryption settings, the same for worker, starter and bench.
const (
	// EnvEncryptionKeys holds the key ring as id=base64key,id=base64key, the primary first.
	EnvEncryptionKeys = "PROSPECT_SYNC_ENCRYPTION_KEYS"
	// EnvEncryptionKeyFile names a file of id=base64key lines, the primary first (# comments).
	EnvEncryptionKeyFile = "PROSPECT_SYNC_ENCRYPTION_KEY_FILE"
	// EnvCodecAuthToken, when set, is the bearer token the codec server asks of every caller.
	EnvCodecAuthToken = "PROSPECT_SYNC_CODEC_AUTH_TOKEN"
	// EnvCodecOrigins lists, comma-separated, the browser origins of Temporal UIs allowed to
	// call the codec server (e.g. https://cloud.temporal.io); the embedded UI is always allowed.
	EnvCodecOrigins = "PROSPECT_SYNC_CODEC_CORS_ORIGINS"
	// EnvCodecEndpoint is the codec server URL the embedded UI calls.
	EnvCodecEndpoint = "PROSPECT_SYNC_CODEC_ENDPOINT"
	// EnvCodecAddress is the codec server's own listener: never the metrics port, so that a
	// scraper allowed to reach /metrics reaches no decode.
	EnvCodecAddress = "PROSPECT_SYNC_CODEC_ADDRESS"
	// DefaultHTTPAddress is where the worker's HTTP listener (metrics, health) binds by default:
	// loopback, so nothing leaves the machine unless asked.
	DefaultHTTPAddress = "127.0.0.1:8290"
	// DefaultCodecAddress is where the codec server binds by default: loopback too.
	DefaultCodecAddress = "127.0.0.1:8291"
	// DefaultCodecEndpoint is the codec path on the codec listener at its default address.
	DefaultCodecEndpoint = "http://" + DefaultCodecAddress + codec.Path
)

// Encryption says how payloads are sealed and who may ask the codec server to open them.
type Encryption struct {
	// Codec seals payloads; nil when no key is configured (payloads stay plain).
	Codec *codec.Codec
	// CodecOrigins are browser origins allowed to call the codec server (EnvCodecOrigins).
	CodecOrigins []string
	// CodecAuthToken is the codec server's bearer token, "" for none (EnvCodecAuthToken).
	CodecAuthToken string
	// CodecEndpoint is where the embedded UI finds the codec server (EnvCodecEndpoint).
	CodecEndpoint string
	// CodecAddress is the codec server's listener (EnvCodecAddress); "off" disables it.
	CodecAddress string
}

// EncryptionFromEnv reads the key ring (EnvEncryptionKeys or EnvEncryptionKeyFile, not both)
// and the codec server's settings. No key configured is not an error: payloads stay plain.
func EncryptionFromEnv(getenv func(string) string) (Encryption, error) {
	e := Encryption{
		CodecAuthToken: strings.TrimSpace(getenv(EnvCodecAuthToken)),
		CodecEndpoint:  strings.TrimSpace(getenv(EnvCodecEndpoint)),
		CodecAddress:   strings.TrimSpace(getenv(EnvCodecAddress)),
	}
	if e.CodecEndpoint == "" {
		e.CodecEndpoint = DefaultCodecEndpoint
	}
	if e.CodecAddress == "" {
		e.CodecAddress = DefaultCodecAddress
	}
	for o := range strings.SplitSeq(getenv(EnvCodecOrigins), ",") {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o == "" {
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return Encryption{}, fmt.Errorf("%s: %q is not an origin such as https://cloud.temporal.io", EnvCodecOrigins, o)
		}
		e.CodecOrigins = append(e.CodecOrigins, o)
	}
	list, file := strings.TrimSpace(getenv(EnvEncryptionKeys)), strings.TrimSpace(getenv(EnvEncryptionKeyFile))
	var keys []codec.Key
	var err error
	source := EnvEncryptionKeys
	switch {
	case list != "" && file != "":
		return Encryption{}, fmt.Errorf("set %s or %s, not both", EnvEncryptionKeys, EnvEncryptionKeyFile)
	case list != "":
		keys, err = codec.ParseKeyList(list)
	case file != "":
		source = EnvEncryptionKeyFile + " " + file
		var b []byte
		if b, err = os.ReadFile(file); err == nil {
			keys, err = codec.ParseKeyFile(b)
		}
	default:
		return e, nil
	}
	if err == nil {
		e.Codec, err = codec.New(keys)
	}
	if err != nil {
		return Encryption{}, fmt.Errorf("%s: %w", source, err)
	}
	// Checked only when there is a codec server to run: without a key nothing is served.
	if err := e.checkCodecAddress(); err != nil {
		return Encryption{}, err
	}
	return e, nil
}

// checkCodecAddress refuses a codec server that anyone on the network could call: one bound
// beyond loopback needs a token.
func (e Encryption) checkCodecAddress() error {
	if e.CodecAddress == "off" || e.CodecAuthToken != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(e.CodecAddress)
	if err != nil {
		return fmt.Errorf("%s=%q: want host:port, or off", EnvCodecAddress, e.CodecAddress)
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s=%q listens beyond this machine: set %s too (every caller of the codec server must then present it), or bind it to 127.0.0.1", EnvCodecAddress, e.CodecAddress, EnvCodecAuthToken)
}

// CodecServed reports whether the codec server runs: a key to open payloads with, and a listener.
func (e Encryption) CodecServed() bool { return e.Codec != nil && e.CodecAddress != "off" }

// Apply makes a Temporal client seal payloads and failures; without a key it changes nothing.
func (e Encryption) Apply(opts *client.Options) { e.Codec.Apply(opts) }

// Handler is the codec server for the worker's HTTP listener, to mount under codec.Path; nil
// without a key. uiURL, the embedded UI's address ("" when none runs), is allowed as an origin.
func (e Encryption) Handler(uiURL string) http.Handler {
	if e.Codec == nil {
		return nil
	}
	origins := slices.Clone(e.CodecOrigins)
	if uiURL != "" {
		origins = append(origins, strings.TrimRight(uiURL, "/"))
	}
	return codec.Handler(e.Codec, codec.HandlerOptions{Origins: origins, AuthToken: e.CodecAuthToken})
}
