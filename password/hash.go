package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters and sizes.
type Params struct {
	MemoryKiB   uint32 // m: memory in KiB
	Iterations  uint32 // t: passes over the memory
	Parallelism uint8  // p: lanes
	SaltBytes   uint32 // length of the random salt
	KeyBytes    uint32 // length of the derived key (the tag)
}

// RecommendedParams returns the parameters new hashes use: OWASP's Password
// Storage Cheat Sheet recommends argon2id "with a minimum configuration of
// 19 MiB of memory, an iteration count of 2, and 1 degree of parallelism"
// (https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id),
// with RFC 9106's 128-bit salt and 256-bit tag (section 4). When they
// change, Verify reports needsRehash for every older hash, so each user's
// hash is upgraded at their next successful sign-in.
func RecommendedParams() Params {
	return Params{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1, SaltBytes: 16, KeyBytes: 32}
}

// Bounds on the parameters Verify accepts from a stored hash (and NewHasher
// from its caller). Whoever can write the database could otherwise make a
// single sign-in allocate gigabytes or run for minutes; these leave room to
// raise the recommended costs several times over (RFC 9106's second
// recommended option, m=64 MiB, t=3, p=4, fits).
const (
	maxMemoryKiB   = 256 * 1024
	maxIterations  = 16
	maxParallelism = 16
	minSaltBytes   = 8 // RFC 9106's floor where space is short
	maxSaltBytes   = 64
	minKeyBytes    = 16
	maxKeyBytes    = 64
	// maxEncoded bounds what Verify parses at all; the longest valid
	// encoding, with every field at its bound, is well under it.
	maxEncoded = 256
)

// ErrMalformedHash is returned by Verify for a stored hash that is not an
// argon2id PHC string this package could have written, or whose parameters
// are outside the bounds above. It means the stored credential is broken or
// was tampered with; the password cannot be verified and must be refused.
var ErrMalformedHash = errors.New("malformed password hash")

func (p Params) validate() error {
	switch {
	case p.Parallelism < 1 || p.Parallelism > maxParallelism:
		return fmt.Errorf("parallelism %d outside 1..%d", p.Parallelism, maxParallelism)
	case p.MemoryKiB < 8*uint32(p.Parallelism) || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("memory %d KiB outside %d..%d", p.MemoryKiB, 8*uint32(p.Parallelism), maxMemoryKiB)
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf("iterations %d outside 1..%d", p.Iterations, maxIterations)
	case p.SaltBytes < minSaltBytes || p.SaltBytes > maxSaltBytes:
		return fmt.Errorf("salt of %d bytes outside %d..%d", p.SaltBytes, minSaltBytes, maxSaltBytes)
	case p.KeyBytes < minKeyBytes || p.KeyBytes > maxKeyBytes:
		return fmt.Errorf("key of %d bytes outside %d..%d", p.KeyBytes, minKeyBytes, maxKeyBytes)
	}
	return nil
}

// Hasher hashes with one set of parameters and verifies hashes made with
// any parameters within bounds. It is safe for concurrent use. Each hash
// holds MemoryKiB of memory while it runs; callers bound how many run at
// once (a sign-in is one hash).
type Hasher struct {
	params Params
}

// NewHasher returns a Hasher that makes hashes with p.
func NewHasher(p Params) (*Hasher, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("password hash parameters: %w", err)
	}
	return &Hasher{params: p}, nil
}

// Params returns the parameters h hashes with.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the PHC string of plain's NFKC form under a fresh random
// salt: $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>, salt and
// key in unpadded standard base64. It refuses with ErrNotText or ErrTooLong
// what it could not hash faithfully and ErrTooShort for an empty password;
// whether plain is acceptable as a password is Check's business, to be
// asked first.
func (h *Hasher) Hash(plain string) (string, error) {
	n, err := normalize(plain)
	if err != nil {
		return "", err
	}
	if n == "" {
		return "", ErrTooShort
	}
	salt := make([]byte, h.params.SaltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("draw password salt: %w", err)
	}
	key := argon2.IDKey([]byte(n), salt, h.params.Iterations, h.params.MemoryKiB, h.params.Parallelism, h.params.KeyBytes)
	return encode(h.params, salt, key), nil
}

// Verify reports whether plain is the password encoded was made from,
// comparing keys in constant time. needsRehash is true only with ok, when
// encoded was made with parameters other than h's: the caller, holding the
// right password, should then store h.Hash(plain) in its place. An encoded
// hash that is malformed or out of bounds is an error (ErrMalformedHash)
// before any work is done. A plain password Hash would refuse (not text,
// over MaxBytes) cannot match and gives false.
func (h *Hasher) Verify(plain, encoded string) (ok, needsRehash bool, err error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	n, err := normalize(plain)
	if err != nil {
		return false, false, nil
	}
	got := argon2.IDKey([]byte(n), salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyBytes)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

// Hash hashes plain with RecommendedParams; see Hasher.Hash.
func Hash(plain string) (string, error) {
	return (&Hasher{params: RecommendedParams()}).Hash(plain)
}

// Verify checks plain against encoded, and reports needsRehash when encoded
// was not made with RecommendedParams; see Hasher.Verify.
func Verify(plain, encoded string) (ok, needsRehash bool, err error) {
	return (&Hasher{params: RecommendedParams()}).Verify(plain, encoded)
}

const phcPrefix = "$argon2id$v=19$"

// b64 is the PHC strings' base64: standard alphabet, no padding, and no
// stray bits in the last character.
func b64() *base64.Encoding { return base64.RawStdEncoding.Strict() }

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("%sm=%d,t=%d,p=%d$%s$%s", phcPrefix,
		p.MemoryKiB, p.Iterations, p.Parallelism, b64().EncodeToString(salt), b64().EncodeToString(key))
}

// decode parses what encode writes and nothing else: the algorithm and
// version are fixed, the fields in encode's order, and a string that does
// not read back exactly as encode would write it (leading zeros, padding,
// stray characters) is refused.
func decode(encoded string) (p Params, salt, key []byte, err error) {
	malformed := func(what string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, what)
	}
	if len(encoded) > maxEncoded {
		return malformed("too long")
	}
	rest, found := strings.CutPrefix(encoded, phcPrefix)
	if !found {
		return malformed("not argon2id version 19")
	}
	fields := strings.Split(rest, "$")
	if len(fields) != 3 {
		return malformed("not parameters, salt and key")
	}
	var m, t, par uint64
	for i, kv := range strings.Split(fields[0], ",") {
		name, value, _ := strings.Cut(kv, "=")
		want := [...]string{"m", "t", "p"}
		if i >= len(want) || name != want[i] {
			return malformed("parameters not m, t, p")
		}
		v, err := strconv.ParseUint(value, 10, 32)
		if err != nil {
			return malformed("parameter " + name + " is not a number")
		}
		switch name {
		case "m":
			m = v
		case "t":
			t = v
		case "p":
			par = v
		}
	}
	if par > maxParallelism {
		return malformed(fmt.Sprintf("parallelism %d over %d", par, maxParallelism))
	}
	if salt, err = b64().DecodeString(fields[1]); err != nil {
		return malformed("salt is not base64")
	}
	if key, err = b64().DecodeString(fields[2]); err != nil {
		return malformed("key is not base64")
	}
	p = Params{MemoryKiB: uint32(m), Iterations: uint32(t), Parallelism: uint8(par),
		SaltBytes: uint32(len(salt)), KeyBytes: uint32(len(key))}
	if err := p.validate(); err != nil {
		return malformed(err.Error())
	}
	if encode(p, salt, key) != encoded {
		return malformed("not in canonical form")
	}
	return p, salt, key, nil
}
