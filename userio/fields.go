package userio

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/flexauth/flexauth/attempt"
)

// Limits on user fields, shared with the admin API.
const (
	MaxAuthIDLength = 256
	MaxNameLength   = 256
	MaxEmailLength  = 254 // RFC 5321's limit on a forward path
	MinPhoneDigits  = 8
	MaxPhoneDigits  = 15 // E.164
	// MaxOrganisationLength is `flexauth account create`'s bound on
	// account ids: an organisation is an account.
	MaxOrganisationLength = 100
)

// User statuses, as the store spells them.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// Methods are the verification methods a file may assign.
func Methods() []string {
	return attempt.Methods()
}

// CheckAuthID says what is wrong with an authid, if anything.
func CheckAuthID(authid string) error {
	if authid == "" {
		return errors.New("authid is required")
	}
	if utf8.RuneCountInString(authid) > MaxAuthIDLength {
		return fmt.Errorf("authid must be at most %d characters", MaxAuthIDLength)
	}
	return CheckText("authid", authid)
}

// CheckOrganisation says what is wrong with an organisation cell, if
// anything. An empty one is the organisation imported into; whether a
// named one exists, and may be imported into, only the caller knows.
func CheckOrganisation(id string) error {
	if utf8.RuneCountInString(id) > MaxOrganisationLength {
		return fmt.Errorf("organisation must be at most %d characters", MaxOrganisationLength)
	}
	return CheckText("organisation", id)
}

// CheckText says what is wrong with the characters of an identifier (the
// field named field), if anything: control characters (C0, DEL and C1,
// unicode.IsControl) have no place in a name a person or an application
// types, and break logs, workflow ids and databases (PostgreSQL refuses
// NUL); text that is not valid UTF-8 names nothing. encoding/json turns
// invalid UTF-8 into U+FFFD, the replacement character, so that is
// refused too: two different broken inputs would otherwise name the same
// user.
func CheckText(field, v string) error {
	if !utf8.ValidString(v) || strings.ContainsRune(v, utf8.RuneError) {
		return fmt.Errorf("%s must be valid UTF-8", field)
	}
	if strings.ContainsFunc(v, unicode.IsControl) {
		return fmt.Errorf("%s must not contain control characters", field)
	}
	return nil
}

// CheckName says what is wrong with a display name, if anything.
func CheckName(name string) error {
	if utf8.RuneCountInString(name) > MaxNameLength {
		return fmt.Errorf("name must be at most %d characters", MaxNameLength)
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		return errors.New("name must not contain control characters")
	}
	return nil
}

// CheckEmail accepts an empty email (no email channel) or a bare address:
// display names and angle brackets have no place in a stored address.
func CheckEmail(email string) error {
	if email == "" {
		return nil
	}
	if len(email) > MaxEmailLength {
		return fmt.Errorf("email must be at most %d characters", MaxEmailLength)
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != email {
		return fmt.Errorf("email %q is not a bare address such as name@example.com", email)
	}
	return nil
}

// CheckPhone accepts an empty phone or an E.164 number: '+', then a
// country code (never 0) and the number, 8 to 15 digits in all.
func CheckPhone(phone string) error {
	if phone == "" {
		return nil
	}
	digits := strings.TrimPrefix(phone, "+")
	if len(digits) == len(phone) || len(digits) < MinPhoneDigits || len(digits) > MaxPhoneDigits ||
		!allDigits(digits) || digits[0] == '0' {
		return fmt.Errorf("phone %q is not in E.164 form: '+' and %d to %d digits, such as +15555550100",
			phone, MinPhoneDigits, MaxPhoneDigits)
	}
	return nil
}

// CheckStatus accepts the two user statuses.
func CheckStatus(status string) error {
	switch status {
	case StatusActive, StatusDisabled:
		return nil
	}
	return fmt.Errorf("status %q is not one of %s, %s", status, StatusActive, StatusDisabled)
}

// ParseYesNo reads a Y/N cell (either case; blanks around are ignored): an
// empty cell is N.
func ParseYesNo(cell string) (bool, error) {
	switch strings.ToUpper(strings.TrimSpace(cell)) {
	case Yes:
		return true, nil
	case No, "":
		return false, nil
	}
	return false, fmt.Errorf("email login enabled %q is not %s or %s", cell, Yes, No)
}

// FormatYesNo writes a Y/N cell.
func FormatYesNo(v bool) string {
	if v {
		return Yes
	}
	return No
}

// CheckEmailLogin says what is wrong with a user's switch for sign-in with
// email and password given their email, if anything: the welcome link that
// lets the user create a password goes to that address.
func CheckEmailLogin(on bool, email string) error {
	if on && email == "" {
		return errors.New("email login needs an email address: the welcome link goes there")
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Assignment is one system a user may sign in to, with its method.
type Assignment struct {
	System string
	Method string
}

// ParseSystems reads a systems cell, "vpn:pin;mail:passwordless": each
// entry a system and its method, a system at most once. Blanks around
// entries are ignored, and so are empty entries (a trailing ';').
func ParseSystems(cell string) ([]Assignment, []string) {
	var out []Assignment
	var problems []string
	seen := map[string]bool{}
	for entry := range strings.SplitSeq(cell, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		// Methods never hold ':', so the last one separates: a system
		// name may hold one.
		i := strings.LastIndexByte(entry, ':')
		if i <= 0 || i == len(entry)-1 {
			problems = append(problems, fmt.Sprintf("systems entry %q is not system:method, such as vpn:pin", entry))
			continue
		}
		sys, method := strings.TrimSpace(entry[:i]), strings.TrimSpace(entry[i+1:])
		if !slices.Contains(Methods(), method) {
			problems = append(problems, fmt.Sprintf("systems entry %q: method %q is not one of %s",
				entry, method, strings.Join(Methods(), ", ")))
			continue
		}
		if seen[sys] {
			problems = append(problems, fmt.Sprintf("system %q is listed twice; a user has one method per system", sys))
			continue
		}
		seen[sys] = true
		out = append(out, Assignment{System: sys, Method: method})
	}
	return out, problems
}

// FormatSystems writes assignments as a systems cell, by system name so
// that the same assignments always give the same cell.
func FormatSystems(as []Assignment) string {
	sorted := slices.Clone(as)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].System < sorted[j].System })
	parts := make([]string, len(sorted))
	for i, a := range sorted {
		parts[i] = a.System + ":" + a.Method
	}
	return strings.Join(parts, ";")
}
