package secret

import (
	"strings"
	"testing"
)

func TestRecoveryCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c, err := NewRecoveryCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != 17 || c[5] != '-' || c[11] != '-' || strings.ContainsAny(c, "01OI") {
			t.Fatalf("code %q is not XXXXX-XXXXX-XXXXX from the unambiguous alphabet", c)
		}
		n, ok := NormalizeRecoveryCode(strings.ToLower(c[:3]) + " " + c[3:])
		if !ok || n != strings.ReplaceAll(c, "-", "") {
			t.Fatalf("normalize(%q) = %q, %v", c, n, ok)
		}
		seen[c] = true
	}
	if len(seen) < 200 {
		t.Fatalf("only %d distinct codes in 200", len(seen))
	}
	// Codes of earlier versions (10 symbols) are still accepted.
	if n, ok := NormalizeRecoveryCode("abcde-fghjk"); !ok || n != "ABCDEFGHJK" {
		t.Errorf("legacy code: normalize = %q, %v", n, ok)
	}
	for _, bad := range []string{"", "ABCDE-FGHJ", "ABCDE-FGHJKL", "ABCDE-FGH0K", "12345678", "ABCDE-FGHJK-LMNP", "ABCDE-FGHJK-LMNPQR"} {
		if _, ok := NormalizeRecoveryCode(bad); ok {
			t.Errorf("%q accepted as a recovery code", bad)
		}
	}
}
