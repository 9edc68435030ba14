package sms

import "testing"

func TestValidE164(t *testing.T) {
	tests := map[string]bool{
		"+15555550100":      true,
		"+12345678":         true,  // 8 digits
		"+123456789012345":  true,  // 15 digits
		"+1234567":          false, // 7 digits
		"+1234567890123456": false, // 16 digits
		"15555550100":       false,
		"+015555550100":     false,
		"+1 555 555 0100":   false,
		"+1555555010a":      false,
		"+１５５５５５５０１００":      false, // full-width digits
		"":                  false,
		"+":                 false,
	}
	for in, want := range tests {
		if got := validE164(in); got != want {
			t.Errorf("validE164(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestMaskNumber(t *testing.T) {
	tests := map[string]string{
		"+15555550100":     "+1555***0100",
		"+447700900123":    "+4477***0123",
		"+12345678":        "+1***5678", // short numbers keep fewer leading digits
		"+123456789012345": "+1234***2345",
		"+1234567":         "***",
	}
	for in, want := range tests {
		if got := maskNumber(in); got != want {
			t.Errorf("maskNumber(%q) = %q, want %q", in, got, want)
		}
	}
}
