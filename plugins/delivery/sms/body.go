package sms

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// maxBodyRunes is Twilio's limit on Body. Anything longer is refused by the
// provider with a 400; refusing it here says why.
const maxBodyRunes = 1600

// renderBody returns the SMS text of req: the host's Text, which flexauth
// rendered from the account's and system's SMS template (package
// messages) and which holds the code or link.
func renderBody(req sdk.SendRequest) (string, error) {
	// Templates tend to end with a newline nobody meant to send.
	body := strings.TrimSpace(req.Text)
	if body == "" {
		return "", sdk.Permanent(errors.New("nothing to send: no text"))
	}
	if n := len([]rune(body)); n > maxBodyRunes {
		return "", sdk.Permanent(fmt.Errorf("body is %d characters, the limit is %d", n, maxBodyRunes))
	}
	return body, nil
}

// gsmBasic is the GSM 03.38 default alphabet; gsmExtended characters take
// two septets (an escape and the character).
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtended = "^{}\\[~]|€\f"
)

// segments estimates how many SMS parts body is billed as: 160 GSM-7
// characters fit one message (153 per part when split); a single
// character outside GSM-7 switches the whole message to UCS-2 (70, or 67
// per part). It is only logged, so operators see what a template costs.
func segments(body string) (parts int, gsm bool) {
	septets := 0
	gsm = true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			septets++
		case strings.ContainsRune(gsmExtended, r):
			septets += 2
		default:
			gsm = false
		}
	}
	single, multi, n := 160, 153, septets
	if !gsm {
		single, multi, n = 70, 67, len(utf16.Encode([]rune(body)))
	}
	switch {
	case n == 0:
		return 0, gsm
	case n <= single:
		return 1, gsm
	default:
		return (n + multi - 1) / multi, gsm
	}
}
