package password_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/password"
)

// cheap keeps most tests fast on a shared machine; the recommended
// parameters have their own round trip and benchmark.
var cheap = password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltBytes: 16, KeyBytes: 32}

func newHasher(t testing.TB, p password.Params) *password.Hasher {
	t.Helper()
	h, err := password.NewHasher(p)
	if err != nil {
		t.Fatalf("NewHasher(%+v): %v", p, err)
	}
	return h
}

func mustHash(t testing.TB, h *password.Hasher, plain string) string {
	t.Helper()
	encoded, err := h.Hash(plain)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return encoded
}

func TestRecommendedParamsAreOWASPs(t *testing.T) {
	want := password.Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, SaltBytes: 16, KeyBytes: 32}
	if got := password.RecommendedParams(); got != want {
		t.Fatalf("RecommendedParams() = %+v, want %+v", got, want)
	}
}

func TestHashVerifyRoundTripWithRecommendedParams(t *testing.T) {
	encoded, err := password.Hash("my cat naps on warm laundry")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(encoded) {
		t.Fatalf("Hash = %q, not a PHC string with the recommended parameters, a 16-byte salt and a 32-byte key", encoded)
	}
	ok, rehash, err := password.Verify("my cat naps on warm laundry", encoded)
	if err != nil || !ok || rehash {
		t.Fatalf("Verify(right password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	ok, rehash, err = password.Verify("my cat naps on warm laundry!", encoded)
	if err != nil || ok || rehash {
		t.Fatalf("Verify(wrong password) = %v, %v, %v; want false, false, nil", ok, rehash, err)
	}
}

func TestHashDrawsAFreshSaltEachTime(t *testing.T) {
	h := newHasher(t, cheap)
	a, b := mustHash(t, h, "Zq7#kP2x"), mustHash(t, h, "Zq7#kP2x")
	if a == b {
		t.Fatalf("two hashes of one password are equal: %q", a)
	}
	saltOf := func(encoded string) string { return strings.Split(encoded, "$")[4] }
	if saltOf(a) == saltOf(b) {
		t.Fatalf("two hashes share the salt %q", saltOf(a))
	}
}

func TestVerify(t *testing.T) {
	h := newHasher(t, cheap)
	long := strings.Repeat("Tq9;", 256) // 1024 bytes, the most Hash takes
	tests := []struct {
		name   string
		stored string // hashed
		typed  string // verified
		ok     bool
	}{
		{"the same password matches", "Zq7#kP2x", "Zq7#kP2x", true},
		{"another password does not match", "Zq7#kP2x", "Zq7#kP2y", false},
		{"case matters", "Zq7#kP2x", "zq7#kp2x", false},
		{"one character more does not match", "Zq7#kP2x", "Zq7#kP2xx", false},
		{"one character fewer does not match", "Zq7#kP2x", "Zq7#kP2", false},
		{"a trailing space is not trimmed", "Zq7#kP2x", "Zq7#kP2x ", false},
		{"a leading space is not trimmed", " Zq7#kP2x", "Zq7#kP2x", false},
		{"an empty password does not match", "Zq7#kP2x", "", false},
		{"a ligature matches the letters it stands for", "ﬁnancial ﬁle", "financial file", true},
		{"the letters match the ligature", "financial file", "ﬁnancial ﬁle", true},
		{"full-width digits match ASCII digits", "pin ４２４２ ok", "pin 4242 ok", true},
		{"ASCII digits match full-width digits", "pin 4242 ok", "pin ４２４２ ok", true},
		{"a decomposed accent matches the precomposed one", "cafe\u0301 au lait", "café au lait", true},
		{"a precomposed accent matches the decomposed one", "café au lait", "cafe\u0301 au lait", true},
		{"emoji match", "🔒🔑🐙🦀🌵🍉🎲🚲", "🔒🔑🐙🦀🌵🍉🎲🚲", true},
		{"the longest password matches in full", long, long, true},
		{"a difference in the last byte of the longest password counts", long, long[:len(long)-1] + "X", false},
		{"a difference past bcrypt's 72 bytes counts", strings.Repeat("a", 72) + "b", strings.Repeat("a", 72) + "c", false},
		{"a password over MaxBytes never matches", long, long + "x", false},
		{"bytes that are not text never match", "Zq7#kP2x", "Zq7#kP2x\xff", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(tc.typed, mustHash(t, h, tc.stored))
			if err != nil || ok != tc.ok || rehash {
				t.Fatalf("Verify = %v, %v, %v; want %v, false, nil", ok, rehash, err, tc.ok)
			}
		})
	}
}

func TestVerifyReportsNeedsRehashWhenParamsChange(t *testing.T) {
	old := newHasher(t, cheap)
	encoded := mustHash(t, old, "Zq7#kP2x")

	changes := map[string]func(p *password.Params){
		"memory":      func(p *password.Params) { p.MemoryKiB *= 2 },
		"iterations":  func(p *password.Params) { p.Iterations++ },
		"parallelism": func(p *password.Params) { p.Parallelism++ },
		"salt length": func(p *password.Params) { p.SaltBytes = 32 },
		"key length":  func(p *password.Params) { p.KeyBytes = 64 },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			p := cheap
			change(&p)
			current := newHasher(t, p)
			ok, rehash, err := current.Verify("Zq7#kP2x", encoded)
			if err != nil || !ok || !rehash {
				t.Fatalf("Verify(right password, old params) = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			ok, rehash, err = current.Verify("wrong password", encoded)
			if err != nil || ok || rehash {
				t.Fatalf("Verify(wrong password, old params) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
			upgraded := mustHash(t, current, "Zq7#kP2x")
			ok, rehash, err = current.Verify("Zq7#kP2x", upgraded)
			if err != nil || !ok || rehash {
				t.Fatalf("Verify(right password, upgraded hash) = %v, %v, %v; want true, false, nil", ok, rehash, err)
			}
			if ok, _, err := old.Verify("Zq7#kP2x", upgraded); err != nil || !ok {
				t.Fatalf("the old hasher cannot read the upgraded hash: %v, %v", ok, err)
			}
		})
	}
}

func TestVerifyRejectsATamperedHash(t *testing.T) {
	h := newHasher(t, cheap)
	encoded := mustHash(t, h, "Zq7#kP2x")
	parts := strings.Split(encoded, "$") // "", argon2id, v=19, params, salt, key
	flip := func(b64 string) string {
		raw, err := base64.RawStdEncoding.DecodeString(b64)
		if err != nil {
			t.Fatal(err)
		}
		raw[0] ^= 1
		return base64.RawStdEncoding.EncodeToString(raw)
	}
	tampered := map[string]string{
		"a bit of the key":     strings.Join(append(parts[:5:5], flip(parts[5])), "$"),
		"a bit of the salt":    strings.Join(append(parts[:4:4], flip(parts[4]), parts[5]), "$"),
		"the memory parameter": strings.Replace(encoded, "m=64,", "m=72,", 1),
		"the iterations":       strings.Replace(encoded, "t=1,", "t=2,", 1),
	}
	for name, enc := range tampered {
		t.Run(name, func(t *testing.T) {
			if enc == encoded {
				t.Fatal("the test did not change the hash")
			}
			ok, rehash, err := h.Verify("Zq7#kP2x", enc)
			if err != nil || ok || rehash {
				t.Fatalf("Verify = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	h := newHasher(t, cheap)
	const salt, key = "c2FsdHNhbHRzYWx0c2FsdA", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	valid := "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key
	if _, _, err := h.Verify("x", valid); err != nil {
		t.Fatalf("the test's well-formed hash is refused: %v", err)
	}
	tests := map[string]string{
		"empty":                        "",
		"argon2i":                      "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"argon2d":                      "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"bcrypt":                       "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
		"version 16":                   "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"no version":                   "$argon2id$m=64,t=1,p=1$" + salt + "$" + key,
		"4 GiB of memory":              "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + key,
		"memory over 32 bits":          "$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + key,
		"memory over the bound":        "$argon2id$v=19$m=262145,t=1,p=1$" + salt + "$" + key,
		"memory under 8 KiB a lane":    "$argon2id$v=19$m=7,t=1,p=1$" + salt + "$" + key,
		"a million iterations":         "$argon2id$v=19$m=64,t=1000000,p=1$" + salt + "$" + key,
		"zero iterations":              "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"zero lanes":                   "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"255 lanes":                    "$argon2id$v=19$m=8192,t=1,p=255$" + salt + "$" + key,
		"256 lanes":                    "$argon2id$v=19$m=8192,t=1,p=256$" + salt + "$" + key,
		"negative memory":              "$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + key,
		"a leading zero":               "$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key,
		"a plus sign":                  "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key,
		"parameters out of order":      "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key,
		"a parameter missing":          "$argon2id$v=19$m=64,t=1$" + salt + "$" + key,
		"an extra parameter":           "$argon2id$v=19$m=64,t=1,p=1,k=2$" + salt + "$" + key,
		"a space in the parameters":    "$argon2id$v=19$m=64, t=1,p=1$" + salt + "$" + key,
		"no salt":                      "$argon2id$v=19$m=64,t=1,p=1$$" + key,
		"a 4-byte salt":                "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key,
		"a 65-byte salt":               "$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 87) + "$" + key,
		"an 8-byte key":                "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$a2V5a2V5a2U",
		"a 1 kB key":                   "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.Repeat("A", 1366),
		"no key":                       "$argon2id$v=19$m=64,t=1,p=1$" + salt,
		"padded base64":                "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key,
		"URL-safe base64":              "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.Repeat("_", 43),
		"stray bits in the last digit": "$argon2id$v=19$m=64,t=1,p=1$" + salt[:21] + "B$" + key,
		"a field more":                 valid + "$x",
		"a trailing newline":           valid + "\n",
		"a leading space":              " " + valid,
		"keyid and data fields":        "$argon2id$v=19$m=64,t=1,p=1,keyid=AAAA$" + salt + "$" + key,
	}
	for name, enc := range tests {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			ok, rehash, err := h.Verify("Zq7#kP2x", enc)
			if !errors.Is(err, password.ErrMalformedHash) || ok || rehash {
				t.Fatalf("Verify(%q) = %v, %v, %v; want false, false, ErrMalformedHash", enc, ok, rehash, err)
			}
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Fatalf("refusing the hash took %v: it did work first", d)
			}
		})
	}
}

func TestHashRefusesWhatItCannotHashFaithfully(t *testing.T) {
	h := newHasher(t, cheap)
	tests := map[string]struct {
		plain string
		want  error
	}{
		"empty":           {"", password.ErrTooShort},
		"not UTF-8":       {"Zq7#kP2x\xff", password.ErrNotText},
		"over 1024 bytes": {strings.Repeat("Tq9;", 256) + "x", password.ErrTooLong},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if encoded, err := h.Hash(tc.plain); !errors.Is(err, tc.want) || encoded != "" {
				t.Fatalf("Hash = %q, %v; want %v", encoded, err, tc.want)
			}
		})
	}
}

func TestNewHasherRefusesParamsOutOfBounds(t *testing.T) {
	tests := map[string]func(p *password.Params){
		"no memory":           func(p *password.Params) { p.MemoryKiB = 0 },
		"over 256 MiB":        func(p *password.Params) { p.MemoryKiB = 256*1024 + 1 },
		"no iterations":       func(p *password.Params) { p.Iterations = 0 },
		"17 iterations":       func(p *password.Params) { p.Iterations = 17 },
		"no lanes":            func(p *password.Params) { p.Parallelism = 0 },
		"17 lanes":            func(p *password.Params) { p.Parallelism = 17; p.MemoryKiB = 17 * 8 },
		"a 7-byte salt":       func(p *password.Params) { p.SaltBytes = 7 },
		"a 65-byte salt":      func(p *password.Params) { p.SaltBytes = 65 },
		"a 15-byte key":       func(p *password.Params) { p.KeyBytes = 15 },
		"a 65-byte key":       func(p *password.Params) { p.KeyBytes = 65 },
		"less than 8KiB/lane": func(p *password.Params) { p.Parallelism = 16; p.MemoryKiB = 16*8 - 1 },
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			p := password.RecommendedParams()
			change(&p)
			if h, err := password.NewHasher(p); err == nil {
				t.Fatalf("NewHasher(%+v) = %v, want an error", p, h)
			}
		})
	}
	if _, err := password.NewHasher(password.RecommendedParams()); err != nil {
		t.Fatalf("NewHasher(RecommendedParams()): %v", err)
	}
}

func BenchmarkHash(b *testing.B) {
	h := newHasher(b, password.RecommendedParams())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash("my cat naps on warm laundry"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := newHasher(b, password.RecommendedParams())
	encoded := mustHash(b, h, "my cat naps on warm laundry")
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify("my cat naps on warm laundry", encoded); !ok || err != nil {
			b.Fatal(fmt.Errorf("verify: %v, %w", ok, err))
		}
	}
}
