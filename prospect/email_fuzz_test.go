package prospect

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzEmail checks NormalizeEmail and ValidEmail on any text. NormalizeEmail is idempotent and
// its result is trimmed and lower-case. Whatever ValidEmail accepts (normalized or not) is
// valid UTF-8 of at most 80 bytes, has exactly one '@' between a non-empty local part and a
// dotted domain, no empty dot-separated part, no space, control or invisible format
// character, and none of the characters the emulator's Salesforce check refuses.
func FuzzEmail(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeEmail(s)
		if again := NormalizeEmail(n); again != n {
			t.Fatalf("NormalizeEmail(%q) = %q, but NormalizeEmail(%q) = %q", s, n, n, again)
		}
		if strings.TrimSpace(n) != n || strings.ToLower(n) != n {
			t.Fatalf("NormalizeEmail(%q) = %q: not trimmed and lower-case", s, n)
		}
		for _, x := range []string{s, n} {
			if ValidEmail(x) {
				checkValidEmail(t, x)
			}
		}
	})
}

func checkValidEmail(t *testing.T, x string) {
	t.Helper()
	bad := func(why string) { t.Fatalf("ValidEmail(%q) = true, but %s", x, why) }
	if x == "" || len(x) > maxEmailLength {
		bad("it is empty or longer than 80 bytes")
	}
	if !utf8.ValidString(x) {
		bad("it is not valid UTF-8")
	}
	if strings.Count(x, "@") != 1 {
		bad("it has not exactly one '@'")
	}
	local, domain, _ := strings.Cut(x, "@")
	if local == "" || !strings.Contains(domain, ".") {
		bad("the local part is empty or the domain has no dot")
	}
	for _, part := range []string{local, domain} {
		if strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".") || strings.Contains(part, "..") {
			bad("a dot-separated part is empty")
		}
	}
	for _, r := range x {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			bad("it holds a space, control or format character")
		}
	}
	if strings.ContainsAny(x, `,;<>()[]\"`) {
		bad("it holds a character the emulator's Salesforce check refuses")
	}
}

// TestValidEmailFuzzFindings keeps what FuzzEmail found: ValidEmail accepted invisible
// characters (net/mail takes any non-ASCII) and a domain literal the emulator refuses.
func TestValidEmailFuzzFindings(t *testing.T) {
	for in, want := range map[string]bool{
		"a\u00a0b@example.com":                   false, // NO-BREAK SPACE
		"\u0085kate@example.com\u2028":           false, // NEXT LINE, LINE SEPARATOR
		"\u200bkate@example.com":                 false, // ZERO WIDTH SPACE
		"kate\u00ad@example.com":                 false, // SOFT HYPHEN (format)
		"a@[1.2.3.4]":                            false,
		"kate@example.com":                       true,
		"élodie@bücher.de":                       true,
		"o'neil+tag@example.co.uk":               true,
		strings.Repeat("a", 68) + "@example.com": true,
	} {
		if got := ValidEmail(in); got != want {
			t.Errorf("ValidEmail(%q) = %v, want %v", in, got, want)
		}
	}
}
