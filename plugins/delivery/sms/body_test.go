package sms

import (
	"strings"
	"testing"
)

func TestDefaultBody(t *testing.T) {
	tests := []struct {
		name string
		data templateData
		want string
	}{
		{name: "code", data: templateData{System: "VPN", Code: "123456", ExpiresMinutes: 10},
			want: "123456 is your VPN sign-in code. It expires in 10 minutes."},
		{name: "code expiring in one minute", data: templateData{System: "VPN", Code: "123456", ExpiresMinutes: 1},
			want: "123456 is your VPN sign-in code. It expires in 1 minute."},
		{name: "code without system or expiry", data: templateData{Code: "123456"},
			want: "123456 is your sign-in code."},
		{name: "link", data: templateData{System: "VPN", Link: "https://h/l/x", ExpiresMinutes: 15},
			want: "Sign in to VPN within 15 minutes:\nhttps://h/l/x"},
		{name: "link without system or expiry", data: templateData{Link: "https://h/l/x"},
			want: "Sign in to your account:\nhttps://h/l/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := defaultBody(tt.data); got != tt.want {
				t.Fatalf("body = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDefaultCodeBodyFitsOneSegment(t *testing.T) {
	body := defaultBody(templateData{System: "Acme Corporate Single Sign-On Portal", Code: "12345678", ExpiresMinutes: 15})
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
