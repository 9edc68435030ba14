package sms

import (
	"errors"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/plugins/sdk"
)

func TestTheBodyIsTheHostsText(t *testing.T) {
	tests := []struct {
		name, text, want, wantErr string
	}{
		{name: "trimmed", text: "  123456 is your VPN sign-in code.\n", want: "123456 is your VPN sign-in code."},
		{name: "empty", text: " \n", wantErr: "nothing to send"},
		{name: "too long", text: strings.Repeat("a", maxBodyRunes+1), wantErr: "limit is 1600"},
		{name: "the limit counts characters, not bytes", text: strings.Repeat("ж", maxBodyRunes), want: strings.Repeat("ж", maxBodyRunes)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := renderBody(sdk.SendRequest{Text: tt.text, Code: "123456"})
			if tt.wantErr != "" {
				if !errors.Is(err, sdk.ErrPermanent) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want permanent %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("body = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// The built-in SMS text of a code (package messages) with a long system
// name still fits one segment.
func TestDefaultCodeBodyFitsOneSegment(t *testing.T) {
	body := "12345678 is your Acme Corporate Single Sign-On Portal sign-in code. It expires in 15 minutes."
	if parts, gsm := segments(body); parts != 1 || !gsm {
		t.Fatalf("%q is %d segments (gsm %v), want 1 GSM-7 segment", body, parts, gsm)
	}
}

func TestSegments(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantParts int
		wantGSM   bool
	}{
		{name: "empty", body: "", wantParts: 0, wantGSM: true},
		{name: "160 GSM characters fit one", body: strings.Repeat("a", 160), wantParts: 1, wantGSM: true},
		{name: "161 GSM characters need two", body: strings.Repeat("a", 161), wantParts: 2, wantGSM: true},
		{name: "extended characters count twice", body: strings.Repeat("€", 81), wantParts: 2, wantGSM: true},
		{name: "accented GSM letters stay GSM", body: "Zürich: 123456 é à ñ", wantParts: 1, wantGSM: true},
		{name: "one emoji switches to UCS-2", body: strings.Repeat("a", 69) + "🙂", wantParts: 2, wantGSM: false},
		{name: "70 UCS-2 units fit one", body: strings.Repeat("ж", 70), wantParts: 1, wantGSM: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, gsm := segments(tt.body)
			if parts != tt.wantParts || gsm != tt.wantGSM {
				t.Fatalf("segments = %d, gsm %v; want %d, %v", parts, gsm, tt.wantParts, tt.wantGSM)
			}
		})
	}
}
