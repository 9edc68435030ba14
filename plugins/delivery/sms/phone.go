package sms

import "strings"

// validE164 reports whether s is an E.164 number as Twilio accepts it: a
// plus sign, then 8 to 15 digits, the first of which (the country code)
// is not 0. Spaces, dashes and national formats are refused rather than
// normalized: guessing a country is the caller's business, not ours.
func validE164(s string) bool {
	digits, ok := strings.CutPrefix(s, "+")
	if !ok || len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// maskNumber hides the middle of a phone number for logs and errors:
// "+15555550100" becomes "+1555***0100". Enough stays to recognise a
// number one already knows, never enough to dial it. At least three digits
// are always hidden, so short numbers keep fewer leading digits.
func maskNumber(s string) string {
	const tail = 4
	digits, plus := strings.CutPrefix(s, "+")
	if len(digits) <= tail+3 {
		return "***"
	}
	head := min(4, len(digits)-tail-3)
	masked := digits[:head] + "***" + digits[len(digits)-tail:]
	if plus {
		return "+" + masked
	}
	return masked
}
