package sms

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{header: "30", want: 30 * time.Second, ok: true},
		{header: "0", want: 0, ok: true},
		{header: now.Add(90 * time.Second).Format(http.TimeFormat), want: 90 * time.Second, ok: true},
		{header: now.Add(-time.Minute).Format(http.TimeFormat), want: 0, ok: true},
		{header: "", ok: false},
		{header: "soon", ok: false},
		{header: "-5", ok: false},
	}
	for _, tt := range tests {
		got, ok := retryAfter(tt.header, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %s, %v; want %s, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}
