package password_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/password"
)

func TestCheck(t *testing.T) {
	maria := password.Owner{Email: "maria.lopez@example.com", Name: "María López", Account: "Acme Robotics"}
	tests := []struct {
		name     string
		plain    string
		owner    password.Owner
		refusal  error // nil: accepted
		personal bool
	}{
		// Length, in code points after NFKC.
		{name: "7 ASCII characters are too short", plain: "Zq7#kP2", refusal: password.ErrTooShort},
		{name: "8 ASCII characters are enough", plain: "Zq7#kP2x"},
		{name: "7 code points of 3 bytes each are too short", plain: "日本語のパスワ", refusal: password.ErrTooShort},
		{name: "8 code points of 3 bytes each are enough", plain: "日本語のパスワド"},
		{name: "8 emoji are enough", plain: "🔒🔑🐙🦀🌵🍉🎲🚲"},
		{name: "7 emoji are too short", plain: "🔒🔑🐙🦀🌵🍉🎲", refusal: password.ErrTooShort},
		{name: "empty is too short", plain: "", refusal: password.ErrTooShort},
		{name: "a 64-character passphrase is accepted", plain: strings.Repeat("Tq9;", 16)},
		{name: "1024 bytes are accepted", plain: strings.Repeat("Tq9;", 256)},
		{name: "1025 bytes are too long", plain: strings.Repeat("Tq9;", 256) + "x", refusal: password.ErrTooLong},
		{name: "1024 bytes of 4-byte emoji are accepted", plain: strings.Repeat("🦀🌵🍉🎲", 64)},
		{name: "1028 bytes of 4-byte emoji are too long", plain: strings.Repeat("🦀🌵🍉🎲", 64) + "🚲", refusal: password.ErrTooLong},
		{name: "a megabyte is too long", plain: strings.Repeat("a", 1<<20), refusal: password.ErrTooLong},
		{name: "1024 full-width bytes after NFKC are accepted", plain: strings.Repeat("Ｔｑ９；", 256)},
		{name: "bytes that are not UTF-8 are refused", plain: "Zq7#kP2x\xff", refusal: password.ErrNotText},

		// NFKC before counting and comparing.
		{name: "a ligature counts as the letters it stands for", plain: "ﬁq7#kP2", refusal: nil},
		{name: "a ligature still leaves 7 letters too short", plain: "ﬁq7#kP", refusal: password.ErrTooShort},
		{name: "a decomposed accent counts once", plain: "Zq7#kPe\u0301", refusal: password.ErrTooShort},

		// Spaces are characters like any other, never trimmed.
		{name: "spaces count towards the length", plain: "  Zq7#k ", refusal: nil},
		{name: "spaces alone count", plain: "        "},
		{name: "a sentence with spaces is accepted", plain: "my cat naps on warm laundry"},

		// Blocklist, case-insensitive, after NFKC.
		{name: "a common password is refused", plain: "password123", refusal: password.ErrCommon},
		{name: "a common password in capitals is refused", plain: "PASSWORD123", refusal: password.ErrCommon},
		{name: "a common password in mixed case is refused", plain: "PassWord123", refusal: password.ErrCommon},
		{name: "a common password in full-width letters is refused", plain: "Ｐａｓｓｗｏｒｄ１２３", refusal: password.ErrCommon},
		{name: "common digits in full width are refused", plain: "１２３４５６７８", refusal: password.ErrCommon},
		{name: "a common password with a ligature is refused", plain: "ﬁrebird1", refusal: password.ErrCommon},
		{name: "another common password is refused", plain: "iloveyou", refusal: password.ErrCommon},
		{name: "a common password with a space added is not on the list", plain: "password123 "},

		// The owner's own data.
		{name: "the email address is refused", plain: "maria.lopez@example.com", owner: maria, personal: true},
		{name: "the email address in capitals is refused", plain: "MARIA.LOPEZ@EXAMPLE.COM", owner: maria, personal: true},
		{name: "the email address wrapped in a few characters is refused", plain: "#maria.lopez@example.com!", owner: maria, personal: true},
		{name: "the email's local part is refused", plain: "maria.lopez", owner: maria, personal: true},
		{name: "the local part with a year is refused", plain: "Maria.Lopez2024", owner: maria, personal: true},
		{name: "the local part's words in another order are refused", plain: "lopezmaria!", owner: maria, personal: true},
		{name: "the name is refused", plain: "María López", owner: maria, personal: true},
		{name: "the name with decomposed accents is refused", plain: "Mari\u0301a Lo\u0301pez", owner: maria, personal: true},
		{name: "the name's words with a few digits are refused", plain: "MaríaLópez99", owner: maria, personal: true},
		{name: "a word of the name with a common password is refused", plain: "lópezpassword1", owner: maria, personal: true},
		{name: "the account name is refused", plain: "acme robotics", owner: maria, personal: true},
		{name: "the account's words with a suffix are refused", plain: "AcmeRobotics#1", owner: maria, personal: true},
		{name: "one account word padded is refused", plain: "Robotics2024", owner: maria, personal: true},
		{name: "a name inside a long uncommon passphrase is accepted", plain: "maria-and-the-seven-lighthouses", owner: maria},
		{name: "the email domain is not a term", plain: "example.com.Zq7", owner: maria},
		{name: "words under 4 characters are not terms", plain: "jo-Zq7#kP", owner: password.Owner{Name: "Jo Smith"}},
		{name: "a short whole name is a term", plain: "Bob.Zq7#", owner: password.Owner{Name: "Bob"}, personal: true},
		{name: "an empty owner refuses nothing", plain: "Zq7#kP2x", owner: password.Owner{}},
		{name: "names of fewer than 3 characters are not terms", plain: "alalZq7#kP", owner: password.Owner{Name: "Al"}},
		{name: "a non-ASCII word of a name is a term", plain: "Ærøskøbing!!", owner: password.Owner{Account: "Ærøskøbing Havn"}, personal: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := password.Check(tc.plain, tc.owner)
			want := tc.refusal
			if tc.personal {
				want = password.ErrPersonal
			}
			if want == nil {
				if err != nil {
					t.Fatalf("Check refused an acceptable password: %v", err)
				}
				return
			}
			if !errors.Is(err, want) {
				t.Fatalf("Check = %v, want %v", err, want)
			}
			var r *password.Refusal
			if !errors.As(err, &r) || r.Message == "" {
				t.Fatalf("Check's error %v is no *Refusal with a message for the user", err)
			}
			if len(tc.plain) >= password.MinLength && strings.Contains(r.Message, tc.plain) {
				t.Fatalf("the refusal repeats the password: %q", r.Message)
			}
		})
	}
}

func TestRefusalsMatchByReason(t *testing.T) {
	r := &password.Refusal{Reason: password.ReasonCommon, Message: "worded by a page"}
	if !errors.Is(r, password.ErrCommon) {
		t.Fatal("a Refusal does not match the sentinel of its reason")
	}
	if errors.Is(r, password.ErrPersonal) {
		t.Fatal("a Refusal matches the sentinel of another reason")
	}
	for _, e := range []*password.Refusal{password.ErrNotText, password.ErrTooShort, password.ErrTooLong, password.ErrCommon, password.ErrPersonal} {
		if e.Reason == "" || e.Error() != e.Message || e.Message == "" {
			t.Errorf("%#v lacks a reason or a message", e)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	owner := password.Owner{Email: "maria.lopez@example.com", Name: "María López", Account: "Acme Robotics"}
	_ = password.Check("my cat naps on warm laundry", owner) // loads the blocklist
	b.ReportAllocs()
	for b.Loop() {
		if err := password.Check("my cat naps on warm laundry", owner); err != nil {
			b.Fatal(err)
		}
	}
}
