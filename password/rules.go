package password

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Reason names why a password was refused, stably: an API may send it to a
// client and a page may pick its own wording by it.
type Reason string

// The reasons Check and Hash give.
const (
	ReasonNotText  Reason = "not_text"
	ReasonTooShort Reason = "too_short"
	ReasonTooLong  Reason = "too_long"
	ReasonCommon   Reason = "common"
	ReasonPersonal Reason = "personal"
)

// Refusal is a password rule the password breaks. Message is meant for the
// user who chose the password, as it is; it never repeats the password.
type Refusal struct {
	Reason  Reason
	Message string
}

func (r *Refusal) Error() string { return r.Message }

// Is makes errors.Is(err, ErrCommon) hold for any Refusal with the same
// Reason, whatever its message.
func (r *Refusal) Is(target error) bool {
	t, ok := target.(*Refusal)
	return ok && t.Reason == r.Reason
}

// The refusals, one per Reason, for errors.Is and errors.As.
var (
	ErrNotText = &Refusal{ReasonNotText,
		"Your password contains bytes that are not text. Type it again."}
	ErrTooShort = &Refusal{ReasonTooShort,
		"Use at least 8 characters."}
	ErrTooLong = &Refusal{ReasonTooLong,
		"Your password is too long: use at most 1024 bytes (1024 plain letters and digits, fewer accented letters, letters of other scripts or emoji)."}
	ErrCommon = &Refusal{ReasonCommon,
		"This password is on a list of common and breached passwords. Choose another one."}
	ErrPersonal = &Refusal{ReasonPersonal,
		"Your password must not be your email address, your name or your organisation's name, nor one of them with a few characters added. Choose another one."}
)

// Owner is what Check knows of the user choosing a password, so as to
// refuse a password built on it. Any field may be empty.
//
// The rule. Everything is compared after NFKC and in lower case. The terms
// are Email, the part of Email before its last "@", Name and Account, each
// when it has at least 3 code points, and every word (a run of letters,
// marks and digits) of at least 4 code points inside the local part, Name
// or Account (the domain's words are not terms). Every occurrence of every
// term is removed from the password, longest terms first; if anything was
// removed, what is left must itself pass the length and blocklist rules, or
// the password is refused with ErrPersonal. For maria.lopez@example.com,
// named María López, of the account Acme Robotics, that refuses
// "maria.lopez@example.com", "Maria.Lopez2024", "lopezmaria!", "María
// López", "AcmeRobotics#1" and "lópezpassword1", and accepts
// "maria-and-the-seven-lighthouses": it contains "maria", but what is left
// without it is a long, uncommon password.
type Owner struct {
	Email   string // the user's email address
	Name    string // the user's name, as shown to administrators
	Account string // the name of the user's account (organisation)
}

// Check tells whether plain may become a user's password: nil, or a
// *Refusal (compare with errors.Is against ErrNotText, ErrTooShort,
// ErrTooLong, ErrCommon, ErrPersonal) whose Message the user can be shown.
// The rules, in the order they are applied: UTF-8 text; at least MinLength
// code points and at most MaxBytes bytes after NFKC; not on the blocklist
// (compared in lower case); not built on the owner's data (see Owner). No
// composition rules apply; spaces count like any character. Any other error
// means the embedded blocklist could not be read (a broken build), and the
// password must not be accepted.
func Check(plain string, owner Owner) error {
	n, err := normalize(plain)
	if err != nil {
		return err
	}
	if utf8.RuneCountInString(n) < MinLength {
		return ErrTooShort
	}
	list, err := blocklist()
	if err != nil {
		return err
	}
	folded := fold(n)
	if list.contains(folded) {
		return ErrCommon
	}
	rest := folded
	for _, t := range owner.terms() {
		rest = strings.ReplaceAll(rest, t, "")
	}
	if rest != folded && (utf8.RuneCountInString(rest) < MinLength || list.contains(rest)) {
		return ErrPersonal
	}
	return nil
}

// terms returns the owner's folded terms, longest first, so that removing
// a whole name goes before removing one of its words.
func (o Owner) terms() []string {
	var terms []string
	add := func(s string, minRunes int) {
		if utf8.RuneCountInString(s) >= minRunes && !slices.Contains(terms, s) {
			terms = append(terms, s)
		}
	}
	email := ownerText(o.Email)
	local := email
	if at := strings.LastIndexByte(email, '@'); at >= 0 {
		local = email[:at]
	}
	for _, whole := range []string{email, local, ownerText(o.Name), ownerText(o.Account)} {
		add(whole, 3)
	}
	// The domain's words are not terms: they name the employer, which
	// Account covers, or a mail provider, which says nothing of the user.
	for _, whole := range []string{local, ownerText(o.Name), ownerText(o.Account)} {
		for _, w := range strings.FieldsFunc(whole, notWordRune) {
			add(w, 4)
		}
	}
	slices.SortStableFunc(terms, func(a, b string) int {
		return cmp.Compare(utf8.RuneCountInString(b), utf8.RuneCountInString(a))
	})
	return terms
}

// ownerText folds one of the owner's fields like a password; a field that
// is not text or is absurdly long yields no terms.
func ownerText(s string) string {
	n, err := normalize(strings.TrimSpace(s))
	if err != nil {
		return ""
	}
	return fold(n)
}

func notWordRune(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r)
}
