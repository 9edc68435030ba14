package api

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// describeBrowser names the browser and system of a User-Agent header in a
// few words ("Firefox on Linux") for the link page, which shows who asked
// for a sign-in. It recognises the common browsers only: anything else is
// shown as an excerpt of the header, which the page escapes (the header is
// whatever the requester chose to send).
func describeBrowser(ua string) string {
	if strings.TrimSpace(ua) == "" {
		return "unknown (the request did not name its browser)"
	}
	browser, system := browserName(ua), systemName(ua)
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "a browser on " + system
	}
	return "unrecognised (" + excerpt(ua, 60) + ")"
}

// browserName checks the tokens most specific first: Edge and Opera also
// say Chrome and Safari; Chrome also says Safari.
func browserName(ua string) string {
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"},
		{"OPR/", "Opera"}, {"Opera", "Opera"},
		{"SamsungBrowser/", "Samsung Internet"},
		{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
		{"CriOS/", "Chrome"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"},
		{"curl/", "curl"}, {"Wget/", "Wget"}, {"python-requests/", "a Python program"},
		{"Python-urllib/", "a Python program"}, {"Go-http-client/", "a Go program"},
	} {
		if strings.Contains(ua, b.token) {
			return b.name
		}
	}
	if strings.Contains(ua, "Safari/") && strings.Contains(ua, "Version/") {
		return "Safari"
	}
	return ""
}

func systemName(ua string) string {
	for _, o := range []struct{ token, name string }{
		{"Windows", "Windows"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"},
		{"CrOS", "ChromeOS"}, {"Macintosh", "macOS"}, {"Mac OS X", "macOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			return o.name
		}
	}
	return ""
}

// excerpt cuts s to at most n characters, marking the cut, with control
// characters shown as "?".
func excerpt(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
