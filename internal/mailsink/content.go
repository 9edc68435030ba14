package mailsink

import "regexp"

var (
	linkPattern = regexp.MustCompile(`https?://[^/\s]+(/l/[A-Za-z0-9_-]{43})`)
	pinPattern  = regexp.MustCompile(`\b(\d{8})\b`)
)

// PIN is the one-time code in a flexauth message's text.
func PIN(text string) (string, bool) {
	m := pinPattern.FindStringSubmatch(text)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// LinkPath is the path (/l/TOKEN) of the sign-in link in a flexauth
// message's text.
func LinkPath(text string) (string, bool) {
	m := linkPattern.FindStringSubmatch(text)
	if m == nil {
		return "", false
	}
	return m[1], true
}
